package flinkconf

// Options the cluster simulator reads beyond options.go: restart strategies, checkpointing and
// the JobManager's metric fetcher (Flink 1.19 defaults).
var (
	MetricFetcherInterval      = opt("metrics.fetcher.update-interval", TypeDuration, "10 s", "How often the JobManager's MetricFetcher refreshes the metrics the REST API serves.")
	FixedDelayAttempts         = opt("restart-strategy.fixed-delay.attempts", TypeInt, "1", "Restart attempts of the fixed-delay strategy before the job fails.")
	FixedDelayDelay            = opt("restart-strategy.fixed-delay.delay", TypeDuration, "1 s", "Delay between two restart attempts of the fixed-delay strategy.")
	ExponentialInitialBackoff  = opt("restart-strategy.exponential-delay.initial-backoff", TypeDuration, "1 s", "First backoff of the exponential-delay restart strategy.")
	ExponentialMaxBackoff      = opt("restart-strategy.exponential-delay.max-backoff", TypeDuration, "1 min", "Largest backoff of the exponential-delay restart strategy.")
	ExponentialMultiplier      = opt("restart-strategy.exponential-delay.backoff-multiplier", TypeDouble, "1.5", "Backoff growth factor of the exponential-delay restart strategy.")
	ExponentialResetThreshold  = opt("restart-strategy.exponential-delay.reset-backoff-threshold", TypeDuration, "1 h", "Failure-free time after which the exponential backoff resets.")
	CheckpointingTimeout       = opt("execution.checkpointing.timeout", TypeDuration, "10 min", "A checkpoint not completed within this is declared failed.")
	CheckpointingMinPause      = opt("execution.checkpointing.min-pause", TypeDuration, "0 ms", "Minimal pause between the end of a checkpoint and the start of the next.")
	CheckpointingTolerableFail = opt("execution.checkpointing.tolerable-failed-checkpoints", TypeInt, "0", "Consecutive checkpoint failures tolerated before the job fails over.")
	StateBackendIncremental    = opt("state.backend.incremental", TypeBool, "false", "RocksDB uploads only new SST files per checkpoint.")
)

// SimOptions lists the options above.
var SimOptions = []Option{
	MetricFetcherInterval, FixedDelayAttempts, FixedDelayDelay, ExponentialInitialBackoff,
	ExponentialMaxBackoff, ExponentialMultiplier, ExponentialResetThreshold, CheckpointingTimeout,
	CheckpointingMinPause, CheckpointingTolerableFail, StateBackendIncremental,
}
