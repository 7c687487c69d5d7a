package demo

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"tiski/internal/id"
	"tiski/internal/site"
	"tiski/internal/visitor"
)

// The demo shop: a small outdoor-goods shop in Finnish, Swedish and English
// with a product list, product pages with prices and delivery, a cart, a
// checkout that reports the purchase through Tiski's JS API, and a signed-in
// customer that the chat knows (identify). It sends a strict
// Content-Security-Policy that allows Tiski only as docs/widget.md says.

type product struct {
	Slug     string
	Name     map[string]string
	Blurb    map[string]string
	Desc     map[string]string
	Cents    int
	Days     string
	Color    string
	Category string
}

var products = []product{
	{Slug: "retkikeitin", Cents: 4990, Days: "1–2", Color: "#b45309", Category: "cook",
		Name:  map[string]string{"fi": "Retkikeitin Kipinä", "sv": "Stormkök Gnista", "en": "Kipinä camping stove"},
		Blurb: map[string]string{"fi": "Kevyt kaasukeitin, kiehauttaa litran 3 minuutissa.", "sv": "Lätt gaskök som kokar en liter på 3 minuter.", "en": "A light gas stove that boils a litre in 3 minutes."},
		Desc:  map[string]string{"fi": "Taittuva, 240 g painava keitin tuulisuojalla ja pietsosytytyksellä. Sopii yleisimpiin kaasupatruunoihin.", "sv": "Hopfällbart kök på 240 g med vindskydd och piezotändning. Passar de vanligaste gaspatronerna.", "en": "A folding 240 g stove with a wind shield and piezo ignition. Fits the common gas cartridges."}},
	{Slug: "villasukat", Cents: 1990, Days: "1–2", Color: "#4d7c0f", Category: "wear",
		Name:  map[string]string{"fi": "Merinovillasukat", "sv": "Merinoullsockor", "en": "Merino wool socks"},
		Blurb: map[string]string{"fi": "Lämpimät ja hengittävät, myös kesävaelluksille.", "sv": "Varma och andande, även för sommarvandring.", "en": "Warm and breathable, for summer hikes too."},
		Desc:  map[string]string{"fi": "70 % merinovillaa, vahvistettu kantapää ja kärki. Koot 36–47.", "sv": "70 % merinoull, förstärkt häl och tå. Storlekar 36–47.", "en": "70% merino wool, reinforced heel and toe. Sizes 36–47."}},
	{Slug: "makuupussi", Cents: 12900, Days: "2–4", Color: "#1d4ed8", Category: "sleep",
		Name:  map[string]string{"fi": "Makuupussi Revontuli −10 °C", "sv": "Sovsäck Norrsken −10 °C", "en": "Revontuli sleeping bag −10 °C"},
		Blurb: map[string]string{"fi": "Untuvaeriste ja pakkauspussi, 1,1 kg.", "sv": "Dunisolering och kompressionspåse, 1,1 kg.", "en": "Down fill with a compression sack, 1.1 kg."},
		Desc:  map[string]string{"fi": "Mukavuuslämpötila −3 °C, äärilämpötila −10 °C. Vetoketju molemmin puolin.", "sv": "Komforttemperatur −3 °C, extremtemperatur −10 °C. Dragkedja på båda sidor.", "en": "Comfort −3 °C, extreme −10 °C. Zips on both sides."}},
	{Slug: "otsalamppu", Cents: 3490, Days: "1–2", Color: "#7c3aed", Category: "light",
		Name:  map[string]string{"fi": "Otsalamppu Kaamos 400", "sv": "Pannlampa Kaamos 400", "en": "Kaamos 400 headlamp"},
		Blurb: map[string]string{"fi": "400 lumenia, ladattava USB-C:llä.", "sv": "400 lumen, laddas med USB-C.", "en": "400 lumens, charges over USB-C."},
		Desc:  map[string]string{"fi": "Punainen yövalo, IPX4-roiskesuojaus ja jopa 40 tunnin paloaika.", "sv": "Rött nattljus, IPX4-stänkskydd och upp till 40 timmars brinntid.", "en": "Red night light, IPX4 splash-proof and up to 40 hours of light."}},
	{Slug: "termospullo", Cents: 2750, Days: "1–2", Color: "#0e7490", Category: "cook",
		Name:  map[string]string{"fi": "Termospullo 0,75 l", "sv": "Termosflaska 0,75 l", "en": "Thermos flask 0.75 l"},
		Blurb: map[string]string{"fi": "Pitää kahvin kuumana 24 tuntia.", "sv": "Håller kaffet varmt i 24 timmar.", "en": "Keeps coffee hot for 24 hours."},
		Desc:  map[string]string{"fi": "Ruostumatonta terästä, kansi toimii mukina. Ei tipu laukussa.", "sv": "Rostfritt stål, locket fungerar som mugg. Läcker inte i väskan.", "en": "Stainless steel; the lid is a cup. Does not leak in a bag."}},
	{Slug: "kuksa", Cents: 3900, Days: "3–5", Color: "#92400e", Category: "cook",
		Name:  map[string]string{"fi": "Kuksa, visakoivua", "sv": "Kåsa av masurbjörk", "en": "Kuksa cup, curly birch"},
		Blurb: map[string]string{"fi": "Käsin veistetty lappilainen juomakuppi.", "sv": "Handsnidad lappländsk dryckeskåsa.", "en": "A hand-carved Lapland drinking cup."},
		Desc:  map[string]string{"fi": "Jokainen kuksa on yksilö. Huuhtele pelkällä vedellä, älä pese koneessa.", "sv": "Varje kåsa är unik. Skölj med vatten, inte i diskmaskin.", "en": "Each cup is one of a kind. Rinse with water only; not for the dishwasher."}},
}

func productBySlug(slug string) (product, bool) {
	for _, p := range products {
		if p.Slug == slug {
			return p, true
		}
	}
	return product{}, false
}

var shopText = map[string]map[string]string{
	"fi": {"shop": "Metsä & Meri", "tagline": "Retkeilyvarusteet Suomen luontoon", "products": "Tuotteet", "cart": "Ostoskori",
		"add": "Lisää ostoskoriin", "delivery": "Toimitus {days} arkipäivässä. Ilmainen toimitus yli 50 €:n tilauksiin, muuten 4,90 €.",
		"returns": "30 päivän palautusoikeus.", "empty": "Ostoskorisi on tyhjä.", "total": "Yhteensä", "shipping": "Toimitus",
		"checkout": "Siirry kassalle", "remove": "Poista", "qty": "Määrä", "name": "Nimi", "email": "Sähköposti",
		"address": "Toimitusosoite", "order": "Tilaa ja maksa", "thanks": "Kiitos tilauksestasi!", "orderNo": "Tilausnumero",
		"confirm": "Lähetimme tilausvahvistuksen osoitteeseen", "continue": "Jatka ostoksia", "ask": "Kysy tuotteesta",
		"askGreeting": "Hei! Kysy vapaasti tuotteesta {name} — vastaamme mielellämme.", "signedIn": "Kirjautuneena",
		"intro": "Kestävät varusteet retkelle, mökille ja arkeen. Kysy meiltä chatissa — vastaamme arkisin 8–20.",
		"free":  "Ilmainen toimitus yli 50 €", "lang": "Kieli", "price": "Hinta", "back": "Kaikki tuotteet"},
	"sv": {"shop": "Skog & Hav", "tagline": "Friluftsutrustning för den finska naturen", "products": "Produkter", "cart": "Varukorg",
		"add": "Lägg i varukorgen", "delivery": "Leverans inom {days} vardagar. Fri frakt över 50 €, annars 4,90 €.",
		"returns": "30 dagars returrätt.", "empty": "Din varukorg är tom.", "total": "Totalt", "shipping": "Frakt",
		"checkout": "Till kassan", "remove": "Ta bort", "qty": "Antal", "name": "Namn", "email": "E-post",
		"address": "Leveransadress", "order": "Beställ och betala", "thanks": "Tack för din beställning!", "orderNo": "Ordernummer",
		"confirm": "Vi skickade en orderbekräftelse till", "continue": "Fortsätt handla", "ask": "Fråga om produkten",
		"askGreeting": "Hej! Fråga gärna om {name} — vi hjälper gärna till.", "signedIn": "Inloggad som",
		"intro": "Hållbar utrustning för tur, stuga och vardag. Fråga oss i chatten — vi svarar vardagar 8–20.",
		"free":  "Fri frakt över 50 €", "lang": "Språk", "price": "Pris", "back": "Alla produkter"},
	"en": {"shop": "Forest & Sea", "tagline": "Outdoor gear for the Finnish wild", "products": "Products", "cart": "Cart",
		"add": "Add to cart", "delivery": "Delivered in {days} working days. Free delivery over €50, otherwise €4.90.",
		"returns": "30-day returns.", "empty": "Your cart is empty.", "total": "Total", "shipping": "Delivery",
		"checkout": "Go to checkout", "remove": "Remove", "qty": "Quantity", "name": "Name", "email": "Email",
		"address": "Delivery address", "order": "Place order and pay", "thanks": "Thank you for your order!", "orderNo": "Order number",
		"confirm": "We sent a confirmation to", "continue": "Continue shopping", "ask": "Ask about this product",
		"askGreeting": "Hi! Ask us anything about {name} — happy to help.", "signedIn": "Signed in as",
		"intro": "Durable gear for trips, the cottage and every day. Ask us in the chat — we answer weekdays 8–20.",
		"free":  "Free delivery over €50", "lang": "Language", "price": "Price", "back": "All products"},
}

func price(cents int, lang string) string {
	s := fmt.Sprintf("%d,%02d €", cents/100, cents%100)
	if lang == "en" {
		s = fmt.Sprintf("€%d.%02d", cents/100, cents%100)
	}
	return s
}

type line struct {
	P     product
	Qty   int
	Cents int
}

type cart struct {
	Lines    []line
	Items    int
	Sub      int
	Shipping int
	Total    int
}

func readCart(r *http.Request) cart {
	var c cart
	ck, err := r.Cookie("demo_cart")
	if err != nil {
		return c
	}
	raw, _ := url.QueryUnescape(ck.Value)
	for _, part := range strings.Split(raw, ",") {
		slug, q, ok := strings.Cut(part, ":")
		n, err := strconv.Atoi(q)
		p, found := productBySlug(slug)
		if !ok || err != nil || n < 1 || n > 99 || !found {
			continue
		}
		c.Lines = append(c.Lines, line{P: p, Qty: n, Cents: n * p.Cents})
		c.Items += n
		c.Sub += n * p.Cents
	}
	if c.Sub > 0 && c.Sub < 5000 {
		c.Shipping = 490
	}
	c.Total = c.Sub + c.Shipping
	return c
}

func writeCart(w http.ResponseWriter, c cart) {
	var parts []string
	for _, l := range c.Lines {
		parts = append(parts, l.P.Slug+":"+strconv.Itoa(l.Qty))
	}
	http.SetCookie(w, &http.Cookie{Name: "demo_cart", Value: url.QueryEscape(strings.Join(parts, ",")), Path: "/",
		HttpOnly: true, SameSite: http.SameSiteLaxMode, MaxAge: 7 * 24 * 3600})
}

type order struct {
	ID, Name, Email string
	Cents           int
	Lines           []line
}

// Shop serves the demo shop for the site st of the Tiski server at tiskiURL.
func Shop(tiskiURL string, st site.Site) http.Handler {
	var mu sync.Mutex
	orders := map[string]order{}
	mux := http.NewServeMux()
	csp := "default-src 'self'; script-src 'self' " + tiskiURL + "; frame-src " + tiskiURL +
		"; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

	page := func(w http.ResponseWriter, r *http.Request, lang, name string, data map[string]any) {
		c := readCart(r)
		data["L"] = lang
		data["T"] = shopText[lang]
		data["Cart"] = c
		data["Tiski"] = tiskiURL
		data["Key"] = st.WidgetKey
		data["Path"] = strings.TrimPrefix(r.URL.Path, "/"+lang)
		data["Langs"] = []string{"fi", "sv", "en"}
		if c.Items > 0 {
			data["CartValue"] = fmt.Sprintf("%d.%02d", c.Total/100, c.Total%100)
		}
		// A customer known to the shop (from checkout) is vouched for to
		// the chat with a signature from the site's identity secret.
		if ck, err := r.Cookie("demo_customer"); err == nil {
			if raw, err := url.QueryUnescape(ck.Value); err == nil {
				if name, email, ok := strings.Cut(raw, "|"); ok {
					sum := sha256.Sum256([]byte(strings.ToLower(email)))
					cid := "cust-" + hex.EncodeToString(sum[:6])
					exp := time.Now().Add(time.Hour).Unix()
					b, _ := json.Marshal(map[string]any{"id": cid, "name": name, "email": email, "expires": exp,
						"signature": visitor.SignIdentity(st.IdentitySecret, cid, exp)})
					data["Identify"] = string(b)
					data["Customer"] = name
				}
			}
		}
		w.Header().Set("Content-Security-Policy", csp)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		if err := shopTmpl.ExecuteTemplate(w, name, data); err != nil {
			http.Error(w, err.Error(), 500)
		}
	}

	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/fi/", http.StatusFound)
	})
	mux.HandleFunc("GET /shop.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		_, _ = w.Write([]byte(shopJS))
	})
	mux.HandleFunc("GET /shop.css", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
		_, _ = w.Write([]byte(shopCSS))
	})
	mux.HandleFunc("GET /img/{slug}", func(w http.ResponseWriter, r *http.Request) {
		p, ok := productBySlug(strings.TrimSuffix(r.PathValue("slug"), ".svg"))
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "image/svg+xml")
		w.Header().Set("Cache-Control", "public, max-age=3600")
		_ = shopTmpl.ExecuteTemplate(w, "img", p)
	})
	for _, l := range []string{"fi", "sv", "en"} {
		mux.HandleFunc("GET /"+l+"/{$}", func(w http.ResponseWriter, r *http.Request) {
			page(w, r, l, "list", map[string]any{"Products": products})
		})
		mux.HandleFunc("GET /"+l+"/p/{slug}", func(w http.ResponseWriter, r *http.Request) {
			p, found := productBySlug(r.PathValue("slug"))
			if !found {
				http.NotFound(w, r)
				return
			}
			page(w, r, l, "product", map[string]any{"P": p, "Title": p.Name[l],
				"Delivery":    strings.ReplaceAll(shopText[l]["delivery"], "{days}", p.Days),
				"AskGreeting": strings.ReplaceAll(shopText[l]["askGreeting"], "{name}", p.Name[l])})
		})
		mux.HandleFunc("GET /"+l+"/cart", func(w http.ResponseWriter, r *http.Request) {
			page(w, r, l, "cart", map[string]any{"Title": shopText[l]["cart"]})
		})
		mux.HandleFunc("POST /"+l+"/cart", func(w http.ResponseWriter, r *http.Request) {
			c := readCart(r)
			slug := r.FormValue("slug")
			qty, _ := strconv.Atoi(r.FormValue("qty"))
			if _, found := productBySlug(slug); !found || qty < 0 || qty > 99 {
				http.Error(w, "bad cart change", http.StatusBadRequest)
				return
			}
			i := slices.IndexFunc(c.Lines, func(x line) bool { return x.P.Slug == slug })
			switch {
			case r.FormValue("set") != "" && i >= 0 && qty == 0:
				c.Lines = slices.Delete(c.Lines, i, i+1)
			case r.FormValue("set") != "" && i >= 0:
				c.Lines[i].Qty = qty
			case i >= 0:
				c.Lines[i].Qty = min(99, c.Lines[i].Qty+max(qty, 1))
			default:
				p, _ := productBySlug(slug)
				c.Lines = append(c.Lines, line{P: p, Qty: max(qty, 1)})
			}
			writeCart(w, c)
			http.Redirect(w, r, "/"+l+"/cart", http.StatusSeeOther)
		})
		mux.HandleFunc("GET /"+l+"/checkout", func(w http.ResponseWriter, r *http.Request) {
			page(w, r, l, "checkout", map[string]any{"Title": shopText[l]["checkout"]})
		})
		mux.HandleFunc("POST /"+l+"/checkout", func(w http.ResponseWriter, r *http.Request) {
			c := readCart(r)
			name, email := strings.TrimSpace(r.FormValue("name")), strings.TrimSpace(r.FormValue("email"))
			if c.Items == 0 || name == "" || !strings.Contains(email, "@") || len(name) > 100 || len(email) > 200 {
				http.Redirect(w, r, "/"+l+"/checkout", http.StatusSeeOther)
				return
			}
			o := order{ID: "MM-" + strings.ToUpper(id.Secret("")[:6]), Name: name, Email: email, Cents: c.Total, Lines: c.Lines}
			mu.Lock()
			orders[o.ID] = o
			mu.Unlock()
			writeCart(w, cart{})
			http.SetCookie(w, &http.Cookie{Name: "demo_customer", Value: url.QueryEscape(name + "|" + email), Path: "/",
				HttpOnly: true, SameSite: http.SameSiteLaxMode, MaxAge: 30 * 24 * 3600})
			http.Redirect(w, r, "/"+l+"/order/"+o.ID, http.StatusSeeOther)
		})
		mux.HandleFunc("GET /"+l+"/order/{id}", func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			o, found := orders[r.PathValue("id")]
			mu.Unlock()
			if !found {
				http.NotFound(w, r)
				return
			}
			page(w, r, l, "order", map[string]any{"O": o, "Title": shopText[l]["thanks"], "Value": fmt.Sprintf("%d.%02d", o.Cents/100, o.Cents%100)})
		})
	}
	return mux
}

var shopTmpl = template.Must(template.New("shop").Funcs(template.FuncMap{
	"price": price,
	"tr":    func(m map[string]string, l string) string { return m[l] },
}).Parse(`
{{define "top"}}<!doctype html>
<html lang="{{.L}}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{{with .Title}}{{.}} · {{end}}{{.T.shop}}</title>
<link rel="stylesheet" href="/shop.css">
</head><body{{with .CartValue}} data-cart-value="{{.}}" data-cart-items="{{$.Cart.Items}}"{{end}}{{with .Identify}} data-identify="{{.}}"{{end}}>
<header class="top"><div class="wrap bar">
<a class="logo" href="/{{.L}}/"><span class="mark" aria-hidden="true">▲</span> {{.T.shop}}</a>
<nav aria-label="{{.T.shop}}"><a href="/{{.L}}/">{{.T.products}}</a>
<a href="/{{.L}}/cart" class="cartlink">{{.T.cart}}{{if .Cart.Items}} <span class="count">{{.Cart.Items}}</span>{{end}}</a></nav>
<nav class="langs" aria-label="{{.T.lang}}">{{range .Langs}}<a href="/{{.}}{{$.Path}}" lang="{{.}}"{{if eq . $.L}} aria-current="true"{{end}}>{{.}}</a>{{end}}</nav>
</div>{{with .Customer}}<p class="wrap who">{{$.T.signedIn}} <strong>{{.}}</strong></p>{{end}}</header>
<main class="wrap">{{end}}

{{define "bottom"}}</main>
<footer class="wrap foot"><p>{{.T.free}} · {{.T.returns}}</p><p class="small">Demo shop for Tiski live chat.</p></footer>
<script src="/shop.js"></script>
<script src="{{.Tiski}}/widget.js" data-site="{{.Key}}" async></script>
</body></html>{{end}}

{{define "list"}}{{template "top" .}}
<section class="hero"><h1>{{.T.tagline}}</h1><p>{{.T.intro}}</p></section>
<h2 class="sr">{{.T.products}}</h2>
<ul class="grid">{{range .Products}}<li class="card">
<a href="/{{$.L}}/p/{{.Slug}}"><img src="/img/{{.Slug}}.svg" alt="" width="320" height="220">
<h3>{{tr .Name $.L}}</h3></a><p>{{tr .Blurb $.L}}</p><p class="price">{{price .Cents $.L}}</p></li>{{end}}</ul>
{{template "bottom" .}}{{end}}

{{define "product"}}{{template "top" .}}
<p class="crumbs"><a href="/{{.L}}/">← {{.T.back}}</a></p>
<article class="product"><img src="/img/{{.P.Slug}}.svg" alt="{{tr .P.Name .L}}" width="480" height="330">
<div><h1>{{tr .P.Name .L}}</h1><p class="price big">{{price .P.Cents .L}}</p><p>{{tr .P.Desc .L}}</p>
<form method="post" action="/{{.L}}/cart" class="buy"><input type="hidden" name="slug" value="{{.P.Slug}}">
<label for="qty">{{.T.qty}}</label><input id="qty" name="qty" type="number" min="1" max="99" value="1">
<button type="submit" class="btn">{{.T.add}}</button></form>
<ul class="facts"><li>{{.Delivery}}</li><li>{{.T.returns}}</li></ul>
<p><a href="#chat" class="ask" data-chat="{{.AskGreeting}}">{{.T.ask}} →</a></p></div></article>
{{template "bottom" .}}{{end}}

{{define "cart"}}{{template "top" .}}
<h1>{{.T.cart}}</h1>
{{if .Cart.Items}}<table class="cart"><thead><tr><th scope="col">{{.T.products}}</th><th scope="col">{{.T.qty}}</th><th scope="col">{{.T.price}}</th></tr></thead><tbody>
{{range .Cart.Lines}}<tr><td><a href="/{{$.L}}/p/{{.P.Slug}}">{{tr .P.Name $.L}}</a></td>
<td><form method="post" action="/{{$.L}}/cart" class="inline"><input type="hidden" name="slug" value="{{.P.Slug}}"><input type="hidden" name="set" value="1">
<label class="sr" for="q-{{.P.Slug}}">{{$.T.qty}}</label><input id="q-{{.P.Slug}}" name="qty" type="number" min="0" max="99" value="{{.Qty}}"><button class="btn small">OK</button></form></td>
<td>{{price .Cents $.L}}</td></tr>{{end}}
<tr><td colspan="2">{{.T.shipping}}</td><td>{{price .Cart.Shipping .L}}</td></tr>
<tr class="sum"><td colspan="2">{{.T.total}}</td><td>{{price .Cart.Total .L}}</td></tr></tbody></table>
<p><a class="btn" href="/{{.L}}/checkout">{{.T.checkout}}</a></p>
{{else}}<p>{{.T.empty}}</p><p><a href="/{{.L}}/">{{.T.continue}}</a></p>{{end}}
{{template "bottom" .}}{{end}}

{{define "checkout"}}{{template "top" .}}
<h1>{{.T.checkout}}</h1>
{{if .Cart.Items}}<form method="post" action="/{{.L}}/checkout" class="checkout">
<label for="name">{{.T.name}}</label><input id="name" name="name" autocomplete="name" required maxlength="100">
<label for="email">{{.T.email}}</label><input id="email" name="email" type="email" autocomplete="email" required maxlength="200">
<label for="address">{{.T.address}}</label><textarea id="address" name="address" rows="3" autocomplete="street-address"></textarea>
<p class="sumline">{{.T.total}}: <strong>{{price .Cart.Total .L}}</strong></p>
<button type="submit" class="btn">{{.T.order}}</button></form>
{{else}}<p>{{.T.empty}}</p>{{end}}
{{template "bottom" .}}{{end}}

{{define "order"}}{{template "top" .}}
<section class="hero" id="order" data-order="{{.O.ID}}" data-value="{{.Value}}" data-currency="EUR">
<h1>{{.T.thanks}}</h1><p>{{.T.orderNo}} <strong>{{.O.ID}}</strong> · {{price .O.Cents .L}}</p>
<p>{{.T.confirm}} {{.O.Email}}.</p><p><a class="btn" href="/{{.L}}/">{{.T.continue}}</a></p></section>
{{template "bottom" .}}{{end}}

{{define "img"}}<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 320 220"><rect width="320" height="220" fill="{{.Color}}"/>
<circle cx="250" cy="60" r="28" fill="#fef3c7" opacity=".9"/><path d="M0 220 L90 110 L150 170 L210 90 L320 220 Z" fill="#fff" opacity=".22"/>
<path d="M0 220 L60 160 L120 200 L200 140 L320 220 Z" fill="#000" opacity=".12"/></svg>{{end}}
`))

const shopJS = `// The demo shop's own script: the JS API stub (calls before widget.js
// loads are queued), then what the shop tells the chat.
window.Tiski = window.Tiski || function () { (window.Tiski.q = window.Tiski.q || []).push(arguments); };
(function () {
  var b = document.body.dataset;
  if (b.identify) Tiski('identify', JSON.parse(b.identify));
  if (b.cartValue) Tiski('setAttributes', { cart_value: b.cartValue, cart_items: b.cartItems });
  var o = document.getElementById('order');
  if (o && o.dataset.order) {
    Tiski('track', 'purchase', { orderId: o.dataset.order, value: Number(o.dataset.value), currency: o.dataset.currency });
  }
  document.querySelectorAll('[data-chat]').forEach(function (el) {
    el.addEventListener('click', function (e) { e.preventDefault(); Tiski('open', { greeting: el.dataset.chat }); });
  });
})();
`

const shopCSS = `*{box-sizing:border-box}body{margin:0;font:16px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1c2a26;background:#f7f5f0}
a{color:#0b5e57}.wrap{max-width:68rem;margin:0 auto;padding:0 1.25rem}.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
.top{background:#fff;border-bottom:1px solid #e7e2d8}.bar{display:flex;align-items:center;gap:1.5rem;min-height:4rem;flex-wrap:wrap}
.logo{font-weight:800;font-size:1.25rem;text-decoration:none;color:#1c2a26;margin-right:auto}.mark{color:#0f766e}
nav{display:flex;gap:1rem;align-items:center}nav a{text-decoration:none;font-weight:600}.count{display:inline-block;min-width:1.4rem;padding:0 .35rem;border-radius:1rem;background:#0f766e;color:#fff;text-align:center;font-size:.85rem}
.langs a{text-transform:uppercase;font-size:.85rem;color:#4b5a55}.langs a[aria-current]{color:#0b5e57;text-decoration:underline}
.who{margin:0;padding-bottom:.5rem;font-size:.9rem;color:#4b5a55}
.hero{padding:2.5rem 0 1.5rem}.hero h1{font-size:2.2rem;line-height:1.15;margin:0 0 .5rem}.hero p{max-width:40rem;color:#3d4a46;margin:.25rem 0}
.grid{list-style:none;padding:0;margin:1rem 0 3rem;display:grid;grid-template-columns:repeat(auto-fill,minmax(15rem,1fr));gap:1.25rem}
.card{background:#fff;border-radius:14px;overflow:hidden;box-shadow:0 1px 3px rgba(0,0,0,.08);padding-bottom:1rem}.card a{text-decoration:none;color:inherit}
.card img{width:100%;height:auto;display:block}.card h3{margin:.8rem 1rem .2rem;font-size:1.1rem}.card p{margin:.2rem 1rem;color:#3d4a46}.price{font-weight:700;color:#1c2a26!important}
.crumbs{margin:1.5rem 0 .5rem}.product{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:2rem;margin-bottom:3rem;background:#fff;border-radius:16px;padding:1.5rem}
.product img{width:100%;height:auto;border-radius:12px}.product h1{margin:0 0 .25rem;font-size:1.8rem}.big{font-size:1.6rem;margin:.25rem 0 1rem}
.buy{display:flex;gap:.6rem;align-items:center;flex-wrap:wrap;margin:1.25rem 0}.buy input{width:4.5rem}input,textarea{font:inherit;padding:.55rem .65rem;border:1px solid #9aa5a1;border-radius:8px;background:#fff}
.btn{display:inline-block;font:inherit;font-weight:700;border:0;border-radius:10px;padding:.7rem 1.2rem;background:#0f766e;color:#fff;text-decoration:none;cursor:pointer}.btn.small{padding:.4rem .7rem}
.facts{padding-left:1.2rem;color:#3d4a46}.facts li{margin:.3rem 0}.ask{font-weight:700}
.cart{width:100%;border-collapse:collapse;background:#fff;border-radius:12px;overflow:hidden;margin:1rem 0}.cart th,.cart td{text-align:left;padding:.75rem 1rem;border-bottom:1px solid #eee}.sum td{font-weight:800}
.inline{display:flex;gap:.4rem}.inline input{width:4.5rem}.checkout{display:flex;flex-direction:column;gap:.4rem;max-width:28rem;background:#fff;padding:1.5rem;border-radius:14px}.checkout label{font-weight:600;margin-top:.5rem}
.sumline{margin:1rem 0}.foot{padding:2rem 1.25rem 6rem;color:#4b5a55;border-top:1px solid #e7e2d8}.small{font-size:.85rem}
@media (max-width:700px){.product{grid-template-columns:1fr}.hero h1{font-size:1.7rem}}
`
