package realtime

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// blockingWriter holds every write until released.
type blockingWriter struct {
	mu      sync.Mutex
	release chan struct{}
	written [][]byte
}

func (w *blockingWriter) write(f outFrame) error {
	<-w.release
	w.mu.Lock()
	w.written = append(w.written, f.data)
	w.mu.Unlock()
	return nil
}

func TestQueueDropsEphemeralFirstAndRefusesOverflow(t *testing.T) {
	w := &blockingWriter{release: make(chan struct{})}
	q := newOutQueue(8, 1<<20, w.write, func(error) {})
	// The first frame is taken by the writer and blocks there.
	if !q.push(outFrame{data: []byte("s0")}) {
		t.Fatal("first push refused")
	}
	waitFor(t, func() bool { q.mu.Lock(); defer q.mu.Unlock(); return q.len() == 0 })
	for i := range 4 {
		if !q.push(outFrame{data: []byte{'s', byte('1' + i)}}) {
			t.Fatalf("stored push %d refused", i)
		}
	}
	// Half full: ephemeral frames are dropped, stored ones still fit.
	q.push(outFrame{data: []byte("typing"), ephemeral: true})
	if q.droppedCount() != 1 {
		t.Fatalf("ephemeral frame not dropped at half full")
	}
	for i := range 4 {
		if !q.push(outFrame{data: []byte{'t', byte('1' + i)}}) {
			t.Fatalf("stored push %d refused before full", i)
		}
	}
	// Full: a stored frame is refused, so the caller must disconnect.
	if q.push(outFrame{data: []byte("overflow")}) {
		t.Fatal("stored push accepted beyond the limit")
	}
	close(w.release)
	waitFor(t, func() bool { w.mu.Lock(); defer w.mu.Unlock(); return len(w.written) == 9 })
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, f := range w.written {
		if string(f) == "typing" || string(f) == "overflow" {
			t.Fatalf("wrote %q", f)
		}
	}
	if string(w.written[0]) != "s0" || string(w.written[8]) != "t4" {
		t.Fatalf("order broken: %q", w.written)
	}
}

func TestQueuePushWaitWaitsForRoom(t *testing.T) {
	w := &blockingWriter{release: make(chan struct{})}
	q := newOutQueue(4, 1<<20, w.write, func(error) {})
	for range 3 {
		q.push(outFrame{data: []byte("x")})
	}
	done := make(chan error, 1)
	go func() { done <- q.pushWait(context.Background(), outFrame{data: []byte("replay")}) }()
	select {
	case err := <-done:
		t.Fatalf("pushWait returned early: %v", err)
	case <-time.After(20 * time.Millisecond):
	}
	close(w.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	q.close()
	if err := q.pushWait(ctx, outFrame{data: []byte("late")}); !errors.Is(err, context.Canceled) {
		t.Fatalf("pushWait on a closed queue: %v", err)
	}
}

func TestQueueWriteErrorClosesConnection(t *testing.T) {
	failed := make(chan error, 1)
	q := newOutQueue(4, 1<<20, func(outFrame) error { return errors.New("broken pipe") }, func(err error) { failed <- err })
	q.push(outFrame{data: []byte("x")})
	select {
	case <-failed:
	case <-time.After(5 * time.Second):
		t.Fatal("write error not reported")
	}
	if !q.push(outFrame{data: []byte("after")}) {
		t.Fatal("push after close should be ignored, not refused")
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met")
		}
		time.Sleep(time.Millisecond)
	}
}

// writeNow writes on the caller's goroutine when the queue is idle, and
// queues behind a write in progress without reordering.
func TestQueueWriteNowKeepsOrder(t *testing.T) {
	var mu sync.Mutex
	var written []string
	release := make(chan struct{})
	write := func(f outFrame) error {
		if string(f.data) == "slow" {
			<-release
		}
		mu.Lock()
		written = append(written, string(f.data))
		mu.Unlock()
		return nil
	}
	q := newOutQueue(8, 1<<20, write, func(error) {})
	q.writeNow(outFrame{data: []byte("pong1")})
	mu.Lock()
	done := len(written) == 1
	mu.Unlock()
	if !done {
		t.Fatal("an idle queue did not write before writeNow returned")
	}
	if q.writing {
		t.Fatal("the queue still counts as writing after an inline write")
	}
	// A writer busy with a slow frame: the reply queues behind it.
	q.push(outFrame{data: []byte("slow")})
	q.push(outFrame{data: []byte("msg")})
	q.writeNow(outFrame{data: []byte("pong2")})
	close(release)
	q.flush(context.Background())
	mu.Lock()
	defer mu.Unlock()
	want := []string{"pong1", "slow", "msg", "pong2"}
	if len(written) != len(want) {
		t.Fatalf("wrote %v, want %v", written, want)
	}
	for i := range want {
		if written[i] != want[i] {
			t.Fatalf("wrote %v, want %v", written, want)
		}
	}
}
