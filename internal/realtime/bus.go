package realtime

// Bus carries events between the nodes of a deployment: in-process on a
// single node, NATS across several. Delivery is at most once and ordered
// per publisher and subject; the database stays the truth and clients heal
// gaps by sequence number.
type Bus interface {
	// Publish sends data to every subscriber of subject on every node.
	Publish(subject string, data []byte) error
	// Subscribe calls handler for each message on subject until the
	// subscription ends. Handlers must not block.
	Subscribe(subject string, handler func(data []byte)) (Subscription, error)
	// Close ends every subscription.
	Close() error
}

// Subscription is a live Subscribe.
type Subscription interface {
	Unsubscribe() error
}
