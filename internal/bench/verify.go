package bench

import (
	"context"
	"sync/atomic"
)

// verify reads every conversation back through the API and checks that
// each acknowledged message is stored exactly once, in a gapless stream.
func (r *run) verify(ctx context.Context) error {
	r.logf("verifying every conversation through the API")
	var convs, msgs, lost, dups, gaps, unexpected atomic.Int64
	err := parallel(ctx, len(r.vis), 16, func(i int) error {
		v := r.vis[i]
		if len(v.sent) == 0 {
			return nil
		}
		list, err := v.v.Conversations(ctx)
		if err != nil {
			return err
		}
		count := map[string]int{}
		for _, c := range list {
			convs.Add(1)
			after := int64(0)
			for {
				page, err := v.v.Messages(ctx, c.ID, after, 500)
				if err != nil {
					return err
				}
				for _, m := range page {
					if m.Seq != after+1 {
						gaps.Add(1)
					}
					after = m.Seq
					if m.From.Kind == "visitor" {
						count[m.CMID]++
						msgs.Add(1)
					}
				}
				if len(page) < 500 {
					break
				}
			}
		}
		for _, id := range v.sent {
			switch n := count[id]; {
			case n == 0 && !v.failed[id]:
				lost.Add(1)
			case n > 1:
				dups.Add(int64(n - 1))
			}
			delete(count, id)
		}
		unexpected.Add(int64(len(count)))
		return nil
	})
	vr := &r.res.Verify
	vr.Conversations, vr.Messages = convs.Load(), msgs.Load()
	vr.Lost, vr.Duplicates, vr.Gaps, vr.Unexpected = lost.Load(), dups.Load(), gaps.Load(), unexpected.Load()
	for _, rt := range r.res.RoundTrip {
		vr.Undelivered += max(rt.Acked-rt.Received, 0)
	}
	return err
}
