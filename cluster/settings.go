package cluster

import "time"

// The settings of a running node, read back, for what shows a node to its
// operator (such as package status) and for code that scales its own
// timeouts to the node's.

// Label returns the node's cluster label, as WithLabel set it ("" for none).
func (n *Node) Label() string { return n.cfg.label }

// HealthyInterval returns how often the node checks the health of its
// remotes: WithHealthyInterval's, or SetHealthyInterval's latest.
func (n *Node) HealthyInterval() time.Duration { return time.Duration(n.healthy.Load()) }

// NetworkTimeout returns how long the node waits on the network before it
// gives up: WithNetworkTimeout's, or SetNetworkTimeout's latest. A round
// trip near it means a remote close to being removed.
func (n *Node) NetworkTimeout() time.Duration { return time.Duration(n.timeout.Load()) }

// ReconnectInterval returns how often the node redials the remotes it lost
// ungracefully: WithReconnectInterval's, or SetReconnectInterval's latest.
func (n *Node) ReconnectInterval() time.Duration { return time.Duration(n.reconnect.Load()) }
