package kube

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"time"
)

// ConfigMaps hold the decision state a new leader continues from.
var ConfigMaps = Resource{"", "v1", "configmaps"}

// MaxStateBytes bounds the state ConfigMap (the API server's limit is 1 MiB per object).
const MaxStateBytes = 900 << 10

// JobState is one job's policy state (metric windows, last rescale) as the leader last saved it.
type JobState struct {
	Cluster string    `json:"cluster"`
	JobID   string    `json:"jobId"`
	Name    string    `json:"name,omitempty"`
	Policy  string    `json:"policy"`
	Saved   time.Time `json:"saved"`
	State   []byte    `json:"-"`
}

// StateStore keeps the jobs' policy state in one ConfigMap, so that a replica that takes
// the lease over restores each policy where the dead leader left it instead of collecting
// its metric windows anew (during which it could not scale). Written only by the leader,
// conditional on the version it read; bounded by MaxStateBytes (the most recently saved
// states win).
type StateStore struct {
	Client    *Client
	Namespace string
	Name      string
	Fence     Fence

	rv     string
	exists bool
}

func stateKey(cluster, job string) string {
	h := sha256.Sum256([]byte(cluster + "\x00" + job))
	return "s-" + hex.EncodeToString(h[:10])
}

// Load reads the saved states (none when the ConfigMap does not exist yet).
func (s *StateStore) Load(ctx context.Context) ([]JobState, error) {
	cm, err := s.Client.Get(ctx, ConfigMaps, s.Namespace, s.Name)
	if IsStatus(err, http.StatusNotFound) {
		s.rv, s.exists = "", false
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	s.rv, s.exists = cm.ResourceVersion(), true
	var index []JobState
	if err := json.Unmarshal([]byte(cm.StrMap("data")["index"]), &index); err != nil {
		return nil, fmt.Errorf("state ConfigMap %s/%s: index: %w", s.Namespace, s.Name, err)
	}
	bin := cm.StrMap("binaryData") // base64 in JSON
	out := index[:0]
	for _, js := range index {
		b64, ok := bin[stateKey(js.Cluster, js.JobID)]
		if !ok {
			continue
		}
		var raw []byte
		if json.Unmarshal([]byte(`"`+b64+`"`), &raw) != nil {
			continue
		}
		js.State = raw
		out = append(out, js)
	}
	return out, nil
}

// Save replaces the saved states with states (newest first kept within the bound).
func (s *StateStore) Save(ctx context.Context, states []JobState) error {
	if s.Fence != nil && !s.Fence() {
		return ErrNotLeader
	}
	slices.SortFunc(states, func(a, b JobState) int { return b.Saved.Compare(a.Saved) })
	index := []JobState{}
	bin := map[string][]byte{}
	size := 0
	for _, js := range states {
		size += len(js.State)*4/3 + 256
		if size > MaxStateBytes {
			break
		}
		index = append(index, js)
		bin[stateKey(js.Cluster, js.JobID)] = js.State
	}
	idx, _ := json.Marshal(index)
	cm := Object{"apiVersion": "v1", "kind": "ConfigMap",
		"metadata":   map[string]any{"name": s.Name, "namespace": s.Namespace, "resourceVersion": s.rv},
		"data":       map[string]any{"index": string(idx)},
		"binaryData": bin,
	}
	var out Object
	var err error
	if s.exists {
		out, err = s.Client.Update(ctx, ConfigMaps, s.Namespace, s.Name, cm)
	} else {
		delete(cm["metadata"].(map[string]any), "resourceVersion")
		out, err = s.Client.Create(ctx, ConfigMaps, s.Namespace, cm, false)
	}
	if err != nil {
		if IsStatus(err, http.StatusConflict) {
			s.Load(ctx) // someone else wrote it: continue from its version next time
		}
		return fmt.Errorf("saving the decision state to ConfigMap %s/%s: %w", s.Namespace, s.Name, err)
	}
	s.rv, s.exists = out.ResourceVersion(), true
	if len(index) < len(states) {
		return fmt.Errorf("decision state: %d of %d jobs fit in ConfigMap %s/%s (%d bytes max); the others start afresh after a failover",
			len(index), len(states), s.Namespace, s.Name, MaxStateBytes)
	}
	return nil
}
