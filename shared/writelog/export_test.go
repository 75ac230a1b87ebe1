package writelog

// SetAfterCommit installs a hook run after each commit, before acks (fault tests).
func (r *Replica) SetAfterCommit(f func(appliedSeq uint64)) { r.afterCommit = f }
