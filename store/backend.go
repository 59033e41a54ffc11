package store

import "context"

// BackendPID is the process id of the PostgreSQL backend serving this
// query; on a local server its parent is the postmaster, whose process
// tree the bench measures for CPU.
func (s *Store) BackendPID(ctx context.Context) (int, error) {
	var pid int
	err := s.pool.QueryRow(ctx, `select pg_backend_pid()`).Scan(&pid)
	return pid, mapErr(err, "backend pid")
}
