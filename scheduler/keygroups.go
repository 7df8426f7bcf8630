package scheduler

// UpperBoundMaxParallelism is the largest max parallelism (number of key groups) Flink accepts:
// 2^15 (Transformation.UPPER_BOUND_MAX_PARALLELISM).
const UpperBoundMaxParallelism = 1 << 15

// DefaultLowerBoundMaxParallelism is the smallest default max parallelism: 2^7.
const DefaultLowerBoundMaxParallelism = 1 << 7

// DefaultMaxParallelism is KeyGroupRangeAssignment.computeDefaultMaxParallelism, the max
// parallelism of an operator (and of a job, when pipeline.max-parallelism is unset) with
// parallelism p: min(max(roundUpPow2(p + p/2), 128), 32768), with integer p/2.
// Flink rejects p outside [1, 32768]; here p < 1 is treated as 1 and larger p give 32768.
func DefaultMaxParallelism(p int) int {
	p = max(p, 1)
	if p > UpperBoundMaxParallelism {
		return UpperBoundMaxParallelism
	}
	return min(max(roundUpPow2(p+p/2), DefaultLowerBoundMaxParallelism), UpperBoundMaxParallelism)
}

// roundUpPow2 is MathUtils.roundUpToPowerOfTwo for x >= 1.
func roundUpPow2(x int) int {
	n := 1
	for n < x {
		n <<= 1
	}
	return n
}

// KeyGroupRange is KeyGroupRangeAssignment.computeKeyGroupRangeForOperatorIndex: the inclusive
// key-group range [start, end] subtask owns when an operator with maxParallelism key groups runs
// at parallelism: start = ceil(subtask·maxP/p), end = floor(((subtask+1)·maxP − 1)/p).
// Callers must keep 0 < parallelism <= maxParallelism and 0 <= subtask < parallelism (Flink
// checks the first; a range with end < start means the subtask owns nothing).
func KeyGroupRange(maxParallelism, parallelism, subtask int) (start, end int) {
	start = (subtask*maxParallelism + parallelism - 1) / parallelism
	end = ((subtask+1)*maxParallelism - 1) / parallelism
	return start, end
}

// SubtaskForKeyGroup is KeyGroupRangeAssignment.computeOperatorIndexForKeyGroup: the subtask
// that owns keyGroup, keyGroup·p / maxP (integer division); the inverse of KeyGroupRange.
func SubtaskForKeyGroup(maxParallelism, parallelism, keyGroup int) int {
	return keyGroup * parallelism / maxParallelism
}
