package realtime

import (
	"context"
	"sync"
)

// outQueue is a connection's bounded send queue. Live events never block
// the publisher: ephemeral ones (typing, presence) are dropped once the
// queue is half full, and a stored message that does not fit means the
// client cannot keep up, so the connection is closed and the client resumes
// from the database by sequence. Replays wait for room instead.
//
// No goroutine waits on an empty queue: a writer is started when frames
// arrive and exits when the queue is drained.
type outQueue struct {
	mu       sync.Mutex
	frames   []outFrame
	head     int
	bytes    int
	writing  bool
	closed   bool
	maxLen   int
	maxBytes int
	room     chan struct{} // closed when the queue drops below half
	idle     chan struct{} // closed when the writer stops
	write    func(f outFrame) error
	onError  func(error)
	dropped  int
}

type outFrame struct {
	data      []byte
	ephemeral bool
	comment   bool // SSE keep-alive: not a frame
}

func newOutQueue(maxLen, maxBytes int, write func(outFrame) error, onError func(error)) *outQueue {
	return &outQueue{maxLen: maxLen, maxBytes: maxBytes, write: write, onError: onError}
}

func (q *outQueue) len() int { return len(q.frames) - q.head }

// push adds a frame without blocking. It returns false when a stored frame
// does not fit: the caller must close the connection.
func (q *outQueue) push(f outFrame) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return true // the connection is going; the client will resume
	}
	if f.ephemeral && q.len() >= q.maxLen/2 {
		q.dropped++
		return true
	}
	if q.len() >= q.maxLen || q.bytes+len(f.data) > q.maxBytes {
		return false
	}
	q.appendLocked(f)
	return true
}

// pushWait adds a stored frame, waiting while the queue is at least half
// full. It fails only when ctx ends or the queue closes.
func (q *outQueue) pushWait(ctx context.Context, f outFrame) error {
	for {
		q.mu.Lock()
		if q.closed {
			q.mu.Unlock()
			return context.Canceled
		}
		if q.len() < q.maxLen/2 && q.bytes+len(f.data) <= q.maxBytes {
			q.appendLocked(f)
			q.mu.Unlock()
			return nil
		}
		if q.room == nil {
			q.room = make(chan struct{})
		}
		room := q.room
		q.mu.Unlock()
		select {
		case <-room:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// writeNow writes f on the caller's goroutine when nothing is queued or
// being written, so a reply does not start a writer goroutine; otherwise
// it queues f like push. The caller blocks for the write: only the
// connection's own reader uses it, for its replies.
func (q *outQueue) writeNow(f outFrame) bool {
	q.mu.Lock()
	if q.closed || q.writing || q.len() > 0 {
		q.mu.Unlock()
		return q.push(f)
	}
	q.writing = true
	q.idle = make(chan struct{})
	q.mu.Unlock()
	if err := q.write(f); err != nil {
		q.fail(err)
		return true
	}
	q.mu.Lock()
	if q.len() > 0 && !q.closed {
		// Frames queued meanwhile: a writer takes them from here.
		q.mu.Unlock()
		go q.drain()
		return true
	}
	q.frames, q.head = q.frames[:0], 0
	q.writing = false
	close(q.idle)
	q.mu.Unlock()
	return true
}

func (q *outQueue) appendLocked(f outFrame) {
	if q.head > 64 && q.head*2 > len(q.frames) { // reuse the consumed front
		n := copy(q.frames, q.frames[q.head:])
		clear(q.frames[n:])
		q.frames, q.head = q.frames[:n], 0
	}
	q.frames = append(q.frames, f)
	q.bytes += len(f.data)
	if !q.writing {
		q.writing = true
		q.idle = make(chan struct{})
		go q.drain()
	}
}

func (q *outQueue) drain() {
	for {
		q.mu.Lock()
		if q.len() == 0 || q.closed && q.len() == 0 {
			q.frames, q.head = q.frames[:0], 0
			q.writing = false
			close(q.idle)
			q.mu.Unlock()
			return
		}
		f := q.frames[q.head]
		q.frames[q.head] = outFrame{}
		q.head++
		q.bytes -= len(f.data)
		if q.room != nil && q.len() < q.maxLen/2 {
			close(q.room)
			q.room = nil
		}
		q.mu.Unlock()
		if err := q.write(f); err != nil {
			q.fail(err)
			return
		}
	}
}

// fail ends the queue after a write error; the writer stops.
func (q *outQueue) fail(err error) {
	q.mu.Lock()
	q.closed = true
	q.frames, q.head, q.bytes = nil, 0, 0
	q.writing = false
	close(q.idle)
	if q.room != nil {
		close(q.room)
		q.room = nil
	}
	q.mu.Unlock()
	q.onError(err)
}

// flush waits until everything queued so far is written, or ctx ends.
func (q *outQueue) flush(ctx context.Context) {
	q.mu.Lock()
	idle := q.idle
	writing := q.writing
	q.mu.Unlock()
	if !writing {
		return
	}
	select {
	case <-idle:
	case <-ctx.Done():
	}
}

// close stops the queue; frames not yet written are discarded.
func (q *outQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.frames, q.head, q.bytes = nil, 0, 0
	if q.room != nil {
		close(q.room)
		q.room = nil
	}
	q.mu.Unlock()
}

func (q *outQueue) droppedCount() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.dropped
}
