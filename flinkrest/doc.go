// Package flinkrest speaks Flink's JobManager REST API: the wire types of the endpoints
// flinktune reads (and its simulator serves) and a client with deadlines, retries,
// authentication, TLS and version detection. Wire details follow flink-rest-api.md; the
// types decode Flink 1.18 to 2.x and encode what Flink sends.
package flinkrest
