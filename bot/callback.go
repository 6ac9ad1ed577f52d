package bot

// Callback is one platform callback a channel answered, for metrics:
// which platform called and what the answer was.
type Callback struct {
	Platform Platform
	Result   string // one of the Callback* results
}

// Results of a platform callback (Callback.Result), one per answer a
// channel gives.
const (
	CallbackAccepted  = "accepted"  // verified and stored (or a URL verification answered): 200
	CallbackDuplicate = "duplicate" // a platform's retry of a message already stored: 200, not handled again
	CallbackIgnored   = "ignored"   // verified, but nothing to store (an event the bot does not read): 200
	CallbackRefused   = "refused"   // failed verification: signature, receive-id or timestamp: 401
	CallbackMalformed = "malformed" // undecodable body or fields: 400
	CallbackTooLarge  = "too_large" // body over the limit: 413
	CallbackBusy      = "busy"      // not stored (the engine is full or stopping, the database failed): 5xx, the platform retries
)

// CallbackObserver hears of each callback a channel answers. A channel
// takes one in its config (main wires metrics.Metrics.ObserveCallback)
// and reports through ObserveCallback, which a nil observer ignores.
type CallbackObserver func(Callback)

// ObserveCallback reports a callback of platform that ended with result
// (a Callback* constant) to o; a nil o does nothing.
func (o CallbackObserver) ObserveCallback(platform Platform, result string) {
	if o != nil {
		o(Callback{Platform: platform, Result: result})
	}
}
