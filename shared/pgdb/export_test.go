package pgdb

// Waiting is how many reads wait in b's queue.
func (b *Batcher) Waiting() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.queue)
}
