package consent

import "time"

// DueForTest exposes Index.due to the black-box tests.
func DueForTest(x *Index, now time.Time) []Record { return x.due(now) }
