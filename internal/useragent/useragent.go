// Package useragent names a shopper's browser and operating system from
// the User-Agent header their browser sends, for the agent's visitor panel.
// Only the names agents recognise are told apart; anything else is "".
package useragent

import "strings"

// Parse returns the browser and the operating system named by ua.
func Parse(ua string) (browser, os string) {
	return browserOf(ua), osOf(ua)
}

// Order matters: Edge, Opera and Samsung Internet also say "Chrome", and
// Chrome also says "Safari".
var browsers = []struct{ token, name string }{
	{"Edg/", "Edge"},
	{"EdgiOS/", "Edge"},
	{"EdgA/", "Edge"},
	{"OPR/", "Opera"},
	{"SamsungBrowser/", "Samsung Internet"},
	{"Firefox/", "Firefox"},
	{"FxiOS/", "Firefox"},
	{"CriOS/", "Chrome"},
	{"Chrome/", "Chrome"},
	{"Chromium/", "Chromium"},
	{"Safari/", "Safari"},
}

func browserOf(ua string) string {
	for _, b := range browsers {
		if strings.Contains(ua, b.token) {
			return b.name
		}
	}
	return ""
}

var systems = []struct{ token, name string }{
	{"iPhone", "iOS"},
	{"iPad", "iPadOS"},
	{"Android", "Android"},
	{"CrOS", "ChromeOS"},
	{"Windows", "Windows"},
	{"Mac OS X", "macOS"},
	{"Macintosh", "macOS"},
	{"Linux", "Linux"},
}

func osOf(ua string) string {
	for _, s := range systems {
		if strings.Contains(ua, s.token) {
			return s.name
		}
	}
	return ""
}
