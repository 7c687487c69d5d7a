package realtime

import (
	"context"
	"encoding/json"
	"slices"

	"tiski/internal/chat"
)

// What the console adds to the protocol: agent state and tag frames for
// agents only, hooks for presence, and a live check of the site's
// typing-preview switch.

// Hooks let the composition root plug domain rules into the hub. Set them
// before the hub takes connections.
type Hooks struct {
	// AgentActivity is called when an agent sends, types or reads.
	AgentActivity func(tenantID, userID string)
	// TypingPreview reports whether a site lets agents see drafts now; it
	// overrides the value the connection was opened with, so turning the
	// switch off applies to connections already open.
	TypingPreview func(ctx context.Context, tenantID, siteID string) bool
}

// SetHooks installs the hooks.
func (h *Hub) SetHooks(k Hooks) { h.hooks = k }

type agentFrame struct {
	T string          `json:"t"`
	A json.RawMessage `json:"a"`
}

type tagsFrame struct {
	T    string          `json:"t"`
	Conv string          `json:"conv"`
	Tags json.RawMessage `json:"tags"`
}

// AnnounceAgent sends an agent's state to every console of the tenant, on
// every node.
func (h *Hub) AnnounceAgent(tenantID string, state any) {
	data, err := json.Marshal(state)
	if err != nil {
		return
	}
	h.publish(h.inboxSubject(tenantID), &event{T: "agent", Tenant: tenantID, Data: data})
}

// AnnounceOffline tells every console of the tenant, on every node, how
// many offline messages are waiting (sent when a shopper leaves one).
func (h *Hub) AnnounceOffline(tenantID string, open int) {
	data, err := json.Marshal(map[string]int{"open": open})
	if err != nil {
		return
	}
	h.publish(h.inboxSubject(tenantID), &event{T: "offline", Tenant: tenantID, Data: data})
}

type offlineFrame struct {
	T       string          `json:"t"`
	Offline json.RawMessage `json:"offline"`
}

// AnnounceTags sends a conversation's tags to the consoles following it.
func (h *Hub) AnnounceTags(tenantID, convID string, tags any) {
	data, err := json.Marshal(tags)
	if err != nil {
		return
	}
	h.publish(h.convSubject(tenantID, convID), &event{T: "tags", Tenant: tenantID, ConvID: convID, Data: data})
}

// ConnectedAgents lists, per tenant, the agents with a console connection
// open on this node.
func (h *Hub) ConnectedAgents() map[string][]string {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := map[string][]string{}
	for c := range h.conns {
		a := c.p.Actor
		if a.Kind != chat.AgentActor || slices.Contains(out[a.TenantID], a.ID) {
			continue
		}
		out[a.TenantID] = append(out[a.TenantID], a.ID)
	}
	return out
}

func (h *Hub) agentActivity(a chat.Actor) {
	if a.Kind == chat.AgentActor && h.hooks.AgentActivity != nil {
		h.hooks.AgentActivity(a.TenantID, a.ID)
	}
}

func (h *Hub) typingPreview(ctx context.Context, p Principal) bool {
	if h.hooks.TypingPreview != nil {
		return h.hooks.TypingPreview(ctx, p.Actor.TenantID, p.Actor.SiteID)
	}
	return p.TypingPreview
}
