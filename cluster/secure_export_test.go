package cluster

// NewSecureConfig gives the tests of secure_test.go a TLS configuration like
// a node's, for the strangers they play.
var NewSecureConfig = newSecureConfig
