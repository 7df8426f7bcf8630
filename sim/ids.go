package sim

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
)

// hexID hashes parts into 32 lowercase hex characters, Flink's id format (JobID,
// JobVertexID, SlotSharingGroupId are 16 random bytes).
func hexID(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(p)))
		h.Write(n[:])
		h.Write([]byte(p))
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// JobID is the stable REST id of a scenario's job.
func JobID(scenarioName, jobName string) string { return hexID("job", scenarioName, jobName) }

// VertexID is the stable REST id of a job vertex.
func VertexID(jobName, vertexID string) string { return hexID("vertex", jobName, vertexID) }

// slotSharingGroupID is the REST id of a job's slot sharing group.
func slotSharingGroupID(jobName, group string) string { return hexID("ssg", jobName, group) }

// checkpointPath is where a job's checkpoints live (for external_path fields).
func checkpointPath(jobID string, n int64) string {
	return fmt.Sprintf("s3://flinktune-sim/checkpoints/%s/chk-%d", jobID, n)
}

// taskManagerID renders a standalone-style ResourceID, "10.0.<a>.<b>:<port>-<6 hex>".
func taskManagerID(seed uint64, n int) (id, host string, port int) {
	host = fmt.Sprintf("10.0.%d.%d", n/250, n%250+2)
	port = 35000 + (n*7919)%20000
	suffix := hexID("tm", fmt.Sprint(seed), fmt.Sprint(n))[:6]
	return fmt.Sprintf("%s:%d-%s", host, port, suffix), host, port
}

// javaStringHash is java.lang.String#hashCode (UTF-16 code units, int32 overflow).
func javaStringHash(s string) int32 {
	var h int32
	for _, r := range s {
		if r >= 0x10000 {
			r -= 0x10000
			h = 31*h + int32(0xD800+(r>>10))
			h = 31*h + int32(0xDC00+(r&0x3FF))
			continue
		}
		h = 31*h + int32(r)
	}
	return h
}

// kafkaSplitOwner is KafkaSourceEnumerator.getSplitOwner: partitions are dealt round-robin
// starting from a reader index derived from the topic name.
func kafkaSplitOwner(topic string, partition, numReaders int) int {
	start := int((javaStringHash(topic)*31)&0x7FFFFFFF) % numReaders
	return (start + partition) % numReaders
}
