package writelog

import "time"

// SetAfterCommit installs a hook run after each commit, before acks (fault tests).
func (r *Replica) SetAfterCommit(f func(appliedSeq uint64)) { r.afterCommit = f }

// SetAfterParts installs a hook run after a spread run's parts commit, before the applier's
// own commit; an error stands for a crash there (fault tests).
func (r *Replica) SetAfterParts(f func() error) { r.afterParts = f }

// SetAfterVacuum installs a hook run between Maintain's VACUUM and its second look at the
// visibility map.
func (r *Replica) SetAfterVacuum(f func()) { r.afterVacuum = f }

// AgeRemembered makes the outcomes r keeps in memory d older.
func (r *Replica) AgeRemembered(d time.Duration) {
	r.recentMu.Lock()
	defer r.recentMu.Unlock()
	for seq, k := range r.recent {
		k.at = k.at.Add(-d)
		r.recent[seq] = k
	}
}
