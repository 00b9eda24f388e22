package collect

import "github.com/prometheus/client_golang/prometheus"

// Metrics of the collection path. Labels are sources, reasons and kinds of
// personal data — never values, event names chosen by clients, or ids.
type Metrics struct {
	Accepted       *prometheus.CounterVec // by source
	Dropped        *prometheus.CounterVec // by source and reason (events and fields)
	Redacted       *prometheus.CounterVec // by kind of personal data
	Rejected       *prometheus.CounterVec // by error code (bad input)
	RequestSeconds prometheus.Histogram   // from a request's arrival to its answer
	GroupSeconds   prometheus.Histogram   // one group commit
	SyncSeconds    prometheus.Histogram   // one flush making group commits durable (Syncer)
	GroupEvents    prometheus.Histogram   // events per group commit
	QueueDepth     prometheus.Gauge       // events waiting for the writer
}

// NewMetrics registers the collection metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Accepted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "garde_events_accepted_total", Help: "Events stored, by source.",
		}, []string{"source"}),
		Dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "garde_dropped_total", Help: "Events and fields the inventory refused, by source and reason.",
		}, []string{"source", "reason"}),
		Redacted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "garde_redacted_total", Help: "Personal data found in free text and redacted, by kind.",
		}, []string{"kind"}),
		Rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "garde_events_rejected_total", Help: "Messages refused as bad input, by error code.",
		}, []string{"code"}),
		RequestSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "garde_collect_request_seconds", Help: "Latency of collection calls, until the events are durable.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}),
		GroupSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "garde_group_commit_seconds", Help: "Duration of one group commit.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}),
		SyncSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "garde_group_sync_seconds", Help: "Duration of one flush of the write-ahead log, which makes the group commits before it durable.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16),
		}),
		GroupEvents: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "garde_group_commit_events", Help: "Events per group commit.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 15),
		}),
		QueueDepth: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "garde_writer_queue_events", Help: "Events waiting for the writer.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.Accepted, m.Dropped, m.Redacted, m.Rejected, m.RequestSeconds, m.GroupSeconds, m.SyncSeconds, m.GroupEvents, m.QueueDepth)
	}
	return m
}

// observe adds one request's tally to the counters.
func (m *Metrics) observe(t *Tally) {
	t.Each(func(k ViolationKey, n int) {
		if len(k.Kind) > len(ViolationRedacted) && k.Kind[:len(ViolationRedacted)] == ViolationRedacted {
			m.Redacted.WithLabelValues(k.Kind[len(ViolationRedacted):]).Add(float64(n))
			return
		}
		m.Dropped.WithLabelValues(k.Source, k.Kind).Add(float64(n))
	})
}
