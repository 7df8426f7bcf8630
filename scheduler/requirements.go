package scheduler

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Bounds is one vertex's parallelism bounds in a resource-requirements request
// (JobVertexResourceRequirements.Parallelism). −1 means "default": 1 for Lower and the vertex's
// max parallelism for Upper.
type Bounds struct {
	Lower int `json:"lowerBound"`
	Upper int `json:"upperBound"`
}

// RequirementsError lists every problem Flink's JobResourceRequirements.validate finds, in
// Flink's wording. The REST API returns them as {"errors": [...]}.
type RequirementsError struct {
	Errors []string
}

func (e *RequirementsError) Error() string {
	return "invalid resource requirements: " + strings.Join(e.Errors, " ")
}

// ValidateRequirements checks a PUT /jobs/:jobid/resource-requirements body against the job's
// vertices (vertex id → max parallelism), as JobResourceRequirements.validate does, and returns
// the requirements with −1 bounds expanded. Rules, in Flink's order per vertex:
//   - a −1 lower bound means 1, a −1 upper bound means the vertex's max parallelism;
//   - both bounds must be >= 1 (if not, the vertex is not checked further);
//   - lower <= upper;
//   - upper <= the vertex's max parallelism;
//   - unknown vertex ids are errors, and so is every job vertex missing from req.
//
// Flink walks a HashMap; here requested vertices are checked in id order, then the missing ones
// in id order. On any error the result is nil and the error is a *RequirementsError holding all
// messages (Flink reports them all at once).
func ValidateRequirements(vertices map[string]int, req map[string]Bounds) (map[string]Bounds, error) {
	var errs []string
	out := make(map[string]Bounds, len(req))
	for _, id := range slices.Sorted(maps.Keys(req)) {
		maxP, known := vertices[id]
		if !known {
			errs = append(errs, fmt.Sprintf("Job vertex [%s] was not found in the JobGraph.", id))
			continue
		}
		b := req[id]
		if b.Lower == -1 {
			b.Lower = 1
		}
		if b.Upper == -1 {
			b.Upper = maxP
		}
		if b.Lower < 1 || b.Upper < 1 {
			errs = append(errs, fmt.Sprintf("Both, the requested lower bound [%d] and upper bound [%d] for job vertex [%s] must be greater than zero.", b.Lower, b.Upper, id))
			continue
		}
		if b.Lower > b.Upper {
			errs = append(errs, fmt.Sprintf("The requested lower bound [%d] for job vertex [%s] is higher than the upper bound [%d].", b.Lower, id, b.Upper))
		}
		if maxP < b.Upper {
			errs = append(errs, fmt.Sprintf("The newly requested parallelism %d for the job vertex %s exceeds its maximum parallelism %d.", b.Upper, id, maxP))
		}
		out[id] = b
	}
	for _, id := range slices.Sorted(maps.Keys(vertices)) {
		if _, ok := req[id]; !ok {
			errs = append(errs, fmt.Sprintf("The request is incomplete, missing job vertex [%s] resource requirements.", id))
		}
	}
	if len(errs) > 0 {
		return nil, &RequirementsError{Errors: errs}
	}
	return out, nil
}
