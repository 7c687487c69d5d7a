// Package membus is the in-process Bus used by a single node.
package membus

import (
	"errors"
	"sync"

	"tiski/internal/realtime"
)

// Bus delivers synchronously, in publish order, to the handlers of one process.
type Bus struct {
	mu     sync.RWMutex
	subs   map[string]map[*sub]struct{}
	closed bool
}

type sub struct {
	bus     *Bus
	subject string
	handler func([]byte)
}

// New returns an empty bus.
func New() *Bus { return &Bus{subs: map[string]map[*sub]struct{}{}} }

var errClosed = errors.New("membus: closed")

func (b *Bus) Publish(subject string, data []byte) error {
	b.mu.RLock()
	if b.closed {
		b.mu.RUnlock()
		return errClosed
	}
	handlers := make([]func([]byte), 0, len(b.subs[subject]))
	for s := range b.subs[subject] {
		handlers = append(handlers, s.handler)
	}
	b.mu.RUnlock()
	for _, h := range handlers {
		h(data)
	}
	return nil
}

func (b *Bus) Subscribe(subject string, handler func([]byte)) (realtime.Subscription, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, errClosed
	}
	s := &sub{bus: b, subject: subject, handler: handler}
	if b.subs[subject] == nil {
		b.subs[subject] = map[*sub]struct{}{}
	}
	b.subs[subject][s] = struct{}{}
	return s, nil
}

func (s *sub) Unsubscribe() error {
	s.bus.mu.Lock()
	defer s.bus.mu.Unlock()
	if set := s.bus.subs[s.subject]; set != nil {
		delete(set, s)
		if len(set) == 0 {
			delete(s.bus.subs, s.subject)
		}
	}
	return nil
}

func (b *Bus) Close() error {
	b.mu.Lock()
	b.closed = true
	b.subs = map[string]map[*sub]struct{}{}
	b.mu.Unlock()
	return nil
}
