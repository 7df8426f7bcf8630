package openapi

import (
	"fmt"

	"gopkg.in/yaml.v3"
)

// Deviation is one known difference between Flink's generated OpenAPI spec and what Flink
// actually sends (flink-rest-api.md §2). Load applies every deviation to the spec so that
// real responses validate without special cases in the caller.
type Deviation struct {
	ID     string // short name
	Where  string // schema or call concerned
	Spec   string // what the spec says
	Wire   string // what Flink sends
	Reason string // why the spec is wrong / how the validator applies it
	apply  func(*Spec) error
}

// Deviations returns the known wire deviations from the spec, in the order Load applies them.
func Deviations() []Deviation {
	out := make([]Deviation, len(deviations))
	copy(out, deviations)
	return out
}

// errorSchemaName is the synthetic component for Flink's error body.
const errorSchemaName = "ErrorResponseBody"

var deviations = []Deviation{
	{
		ID:     "MetricCollectionBareArray",
		Where:  "MetricCollectionResponseBody (/jobmanager/metrics, /jobs/{id}/metrics, .../vertices/{vid}/metrics, .../watermarks, /taskmanagers/{id}/metrics, .../subtasks/{i}/metrics)",
		Spec:   `{"metrics": [Metric]}`,
		Wire:   `a bare array [{"id": ..., "value": "..."}], or [{"id": ...}] when listing names`,
		Reason: "MetricCollectionResponseBody has a custom Jackson serializer that writes the list itself; the generator only sees the Java field. Validated as an array of Metric.",
		apply: func(s *Spec) error {
			return s.replace("MetricCollectionResponseBody", `
type: array
items: {$ref: '#/components/schemas/Metric'}`)
		},
	},
	{
		ID:     "AggregatedMetricsBareArray",
		Where:  "AggregatedMetricsResponseBody (/jobs/metrics, /taskmanagers/metrics, .../subtasks/metrics)",
		Spec:   "a bare object with no properties",
		Wire:   `a bare array [{"id": ..., "min": n, "max": n, "avg": n, "sum": n, "skew": n}], only the requested aggregates present; [{"id": ...}] when listing names`,
		Reason: "custom serializer again; the aggregate values are JSON numbers (doubles). Validated as an array of AggregatedMetric (a synthetic schema).",
		apply: func(s *Spec) error {
			if err := s.add("AggregatedMetric", `
type: object
required: [id]
properties:
  id: {type: string}
  min: {type: number, format: double}
  max: {type: number, format: double}
  avg: {type: number, format: double}
  sum: {type: number, format: double}
  skew: {type: number, format: double}`); err != nil {
				return err
			}
			return s.replace("AggregatedMetricsResponseBody", `
type: array
items: {$ref: '#/components/schemas/AggregatedMetric'}`)
		},
	},
	{
		ID:     "SkewAggregation",
		Where:  "AggregationMode, aggregated metric entries",
		Spec:   "MIN, MAX, SUM, AVG",
		Wire:   `Flink 1.20+ also accepts agg=skew and sends "skew" in aggregated entries`,
		Reason: "the spec predates FLINK 1.20; AggregatedMetric includes skew and AggregationMode gains SKEW.",
		apply: func(s *Spec) error {
			sc, ok := s.schemas["AggregationMode"]
			if !ok {
				return fmt.Errorf("schema AggregationMode missing")
			}
			sc.Enum = append(sc.Enum, "SKEW")
			return nil
		},
	},
	{
		ID:     "PlanIsStructured",
		Where:  "RawJson (JobDetailsInfo.plan, JobPlanInfo.plan)",
		Spec:   "an object without properties",
		Wire:   `the JobGraph plan {jid, name, type, nodes: [{id, parallelism, operator, operator_strategy, description, inputs?: [{num, id, ship_strategy, exchange, local_strategy?, caching?}], optimizer_properties}]}`,
		Reason: "RawJson is a pre-serialized string; the spec cannot see its structure. Validated against a synthetic Plan schema (sources: no inputs key in 1.x, [] in 2.x; optimizer_properties {} in 1.x, a string in 2.x).",
		apply: func(s *Spec) error {
			return s.replace("RawJson", `
type: object
required: [jid, name, nodes]
properties:
  jid: {$ref: '#/components/schemas/JobID'}
  name: {type: string}
  type: {type: string, enum: [STREAMING, BATCH]}
  nodes:
    type: array
    items:
      type: object
      required: [id, parallelism]
      properties:
        id: {$ref: '#/components/schemas/JobVertexID'}
        parallelism: {type: integer, format: int32}
        operator: {type: string}
        operator_strategy: {type: string}
        description: {type: string}
        inputs:
          type: array
          items:
            type: object
            required: [num, id, ship_strategy]
            properties:
              num: {type: integer, format: int32}
              id: {$ref: '#/components/schemas/JobVertexID'}
              ship_strategy: {type: string}
              exchange: {type: string}
              local_strategy: {type: string}
              caching: {type: string}
        optimizer_properties:
          anyOf: [{type: object}, {type: string}]`)
		},
	},
	{
		ID:     "ResourceIDFreeForm",
		Where:  "ResourceID (TaskManager ids)",
		Spec:   "pattern [0-9a-f]{32}",
		Wire:   "free-form strings: pod names such as myjob-taskmanager-1-1 on native Kubernetes, host:port-suffix on standalone clusters",
		Reason: "ResourceID is serialized with its string form, which is not a hex id. The pattern is dropped.",
		apply: func(s *Spec) error {
			sc, ok := s.schemas["ResourceID"]
			if !ok {
				return fmt.Errorf("schema ResourceID missing")
			}
			sc.Pattern = ""
			return nil
		},
	},
	{
		ID:     "JobConfigWireNames",
		Where:  "JobConfigInfo (/jobs/{jobid}/config)",
		Spec:   "jobId, jobName, executionConfigInfo",
		Wire:   `jid, name, execution-config (ExecutionConfigInfo; absent for archived jobs)`,
		Reason: "JobConfigInfo has a custom serializer; the generator used the Java field names. Validated with the wire names.",
		apply: func(s *Spec) error {
			return s.replace("JobConfigInfo", `
type: object
required: [jid, name]
properties:
  jid: {$ref: '#/components/schemas/JobID'}
  name: {type: string}
  execution-config: {$ref: '#/components/schemas/ExecutionConfigInfo'}`)
		},
	},
	{
		ID:     "NonFiniteNumbers",
		Where:  "every number (double) field",
		Spec:   "a JSON number",
		Wire:   `"NaN", "Infinity" or "-Infinity" as strings (e.g. busyTimeMsPerSecond aggregates, accumulated-busy-time, checkpoint percentiles)`,
		Reason: "Flink's Jackson mapper keeps WRITE_NAN_AS_STRINGS (the default), and JSON has no NaN. Accepted wherever the schema says number.",
		apply: func(s *Spec) error {
			s.eachSchema(func(sc *Schema) {
				if sc.Type == "number" {
					sc.allowNonFinite = true
				}
			})
			return nil
		},
	},
	{
		ID:     "NullableFields",
		Where:  "CheckpointStatistics.savepointFormat, CompletedCheckpointStatistics.external_path, FailedCheckpointStatistics.failure_message, LatestCheckpoints.*, RestoredCheckpointStatistics.external_path, AsynchronousOperationResult.operation, JobExceptionsInfoWithHistory.root-exception/timestamp",
		Spec:   "never nullable",
		Wire:   "null when absent (no savepoint yet, operation still in progress, job never failed, ...)",
		Reason: "the generator ignores @Nullable; Jackson writes null for null fields. These properties accept null.",
		apply: func(s *Spec) error {
			for schema, props := range map[string][]string{
				"CheckpointStatistics":          {"savepointFormat"},
				"CompletedCheckpointStatistics": {"external_path"},
				"FailedCheckpointStatistics":    {"failure_message"},
				"LatestCheckpoints":             {"completed", "savepoint", "failed", "restored"},
				"RestoredCheckpointStatistics":  {"external_path"},
				"AsynchronousOperationResult":   {"operation"},
				"JobExceptionsInfoWithHistory":  {"root-exception", "timestamp"},
			} {
				for _, p := range props {
					if err := s.makeNullable(schema, p); err != nil {
						return err
					}
				}
			}
			return nil
		},
	},
	{
		ID:     "AsyncOperationOneOf",
		Where:  "AsynchronousOperationResult.operation",
		Spec:   "oneOf AsynchronousOperationInfo, CheckpointInfo, SavepointInfo",
		Wire:   `one of those shapes, e.g. {"location": ...} or {"failure-cause": {...}}`,
		Reason: "the alternatives have no required properties and allow additional ones, so every object matches all three and a strict oneOf always fails. Validated as anyOf.",
		apply: func(s *Spec) error {
			sc, ok := s.schemas["AsynchronousOperationResult"]
			if !ok || sc.Properties["operation"] == nil || len(sc.Properties["operation"].OneOf) == 0 {
				return fmt.Errorf("AsynchronousOperationResult.operation has no oneOf")
			}
			op := sc.Properties["operation"]
			op.AnyOf, op.OneOf = op.OneOf, nil
			return nil
		},
	},
	{
		ID:     "ErrorBody",
		Where:  "every call, non-2xx status",
		Spec:   "no error responses documented",
		Wire:   `{"errors": ["message", ...]} with a 4xx/5xx status (e.g. PATCH /jobs/{id}/rescaling always answers 503)`,
		Reason: "Flink's handlers share one error body (ErrorResponseBody). Non-2xx responses are validated against it.",
		apply: func(s *Spec) error {
			return s.add(errorSchemaName, `
type: object
required: [errors]
properties:
  errors:
    type: array
    items: {type: string}`)
		},
	},
	{
		ID:     "EmptyResponseBody",
		Where:  "calls documented without response content (PUT /jobs/{id}/resource-requirements, PATCH /jobs/{id}, DELETE /cluster, ...)",
		Spec:   "no content",
		Wire:   "{} (EmptyResponseBody) or nothing",
		Reason: "Flink serializes EmptyResponseBody as an empty object. ValidateResponse accepts an empty body or {}.",
		apply:  func(*Spec) error { return nil }, // applied in ValidateResponse
	},
	{
		ID:     "NewerFields",
		Where:  "JobDetailsInfo, JobDetailsVertexInfo, SubtaskExecutionAttemptDetailsInfo, ExceptionInfo, ...",
		Spec:   "the early 1.19 build's fields",
		Wire:   "also slotSharingGroupId (1.19), job-type, endpoint, stream-graph, pending-operators (2.0), schedulerType, application-id, slotSharingGroupName; host removed in 2.0",
		Reason: "later versions add fields; no schema forbids additional properties, and none of the removed fields is required, so nothing needs changing.",
		apply:  func(*Spec) error { return nil },
	},
}

// replace swaps the named component for a schema given as YAML.
func (s *Spec) replace(name, yamlText string) error {
	if _, ok := s.schemas[name]; !ok {
		return fmt.Errorf("schema %s missing", name)
	}
	sc, err := parseSchema(yamlText)
	if err != nil {
		return err
	}
	*s.schemas[name] = *sc // keep the pointer: other schemas may hold it
	return nil
}

// add registers a new component given as YAML.
func (s *Spec) add(name, yamlText string) error {
	if _, ok := s.schemas[name]; ok {
		return fmt.Errorf("schema %s already exists", name)
	}
	sc, err := parseSchema(yamlText)
	if err != nil {
		return err
	}
	s.schemas[name] = sc
	return nil
}

// makeNullable marks a property of a component (directly or in one of its allOf parts)
// as nullable.
func (s *Spec) makeNullable(schema, prop string) error {
	sc, ok := s.schemas[schema]
	if !ok {
		return fmt.Errorf("schema %s missing", schema)
	}
	for _, part := range append([]*Schema{sc}, sc.AllOf...) {
		if p, ok := part.Properties[prop]; ok {
			p.Nullable = true
			return nil
		}
	}
	return fmt.Errorf("schema %s has no property %s", schema, prop)
}

// eachSchema calls f for every schema reachable from the components and responses.
func (s *Spec) eachSchema(f func(*Schema)) {
	seen := map[*Schema]bool{}
	var walk func(*Schema)
	walk = func(sc *Schema) {
		if sc == nil || seen[sc] {
			return
		}
		seen[sc] = true
		f(sc)
		for _, p := range sc.Properties {
			walk(p)
		}
		if sc.AdditionalProperties != nil {
			walk(sc.AdditionalProperties.Schema)
		}
		walk(sc.Items)
		for _, x := range sc.AllOf {
			walk(x)
		}
		for _, x := range sc.OneOf {
			walk(x)
		}
		for _, x := range sc.AnyOf {
			walk(x)
		}
	}
	for _, name := range sortedKeys(s.schemas) {
		walk(s.schemas[name])
	}
	for _, r := range s.routes {
		for _, op := range r.ops {
			for _, resp := range op.Responses {
				for _, c := range resp.Content {
					walk(c.Schema)
				}
			}
		}
	}
}

func parseSchema(yamlText string) (*Schema, error) {
	sc := new(Schema)
	if err := yaml.Unmarshal([]byte(yamlText), sc); err != nil {
		return nil, err
	}
	return sc, nil
}
