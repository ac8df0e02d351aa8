package meter

// Buffered returns how many records wait in the buffer for the next batch
// write (the llmservice_ledger_buffered_records gauge).
func (w *Writer) Buffered() int { return len(w.ch) }
