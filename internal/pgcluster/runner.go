package pgcluster

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
)

// runner runs the PostgreSQL binaries: as ourselves normally, and as the
// postgres user when we are root, because initdb and postgres refuse root.
type runner struct {
	cred *syscall.Credential // nil: run as the current user
}

func newRunner() (runner, error) {
	if os.Geteuid() != 0 {
		return runner{}, nil
	}
	u, err := user.Lookup(superuser)
	if err != nil {
		return runner{}, fmt.Errorf("pgcluster: running as root, and initdb refuses root: need the %q user to run PostgreSQL as: %w", superuser, err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		return runner{}, fmt.Errorf("pgcluster: parse ids of user %q: %w", superuser, err)
	}
	return runner{cred: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}, nil
}

func (r runner) command(ctx context.Context, dir, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	// The working directory must be one the postgres user can enter.
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: r.cred}
	return cmd
}

// prepareDir creates the data directory and, when running as root, hands it to
// the postgres user and makes sure that user can reach it.
func (r runner) prepareDir(dir string, logger *slog.Logger) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("pgcluster: create data dir: %w", err)
	}
	if r.cred == nil {
		return nil
	}
	if err := os.Chown(dir, int(r.cred.Uid), int(r.cred.Gid)); err != nil {
		return fmt.Errorf("pgcluster: give data dir %s to user %s: %w", dir, superuser, err)
	}
	// postgres refuses a data dir readable by others.
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("pgcluster: chmod data dir: %w", err)
	}
	for p := filepath.Dir(dir); ; p = filepath.Dir(p) {
		if err := r.ensureTraversable(p, logger); err != nil {
			return err
		}
		if p == filepath.Dir(p) {
			return nil
		}
	}
}

// ensureTraversable makes sure the postgres user may pass through dir. A
// root-owned dir that forbids it (t.TempDir's 0700 parents, /root) gets the
// others' search bit only: enough to reach the data dir, not to list.
func (r runner) ensureTraversable(dir string, logger *slog.Logger) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("pgcluster: stat %s: %w", dir, err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	mode := fi.Mode().Perm()
	var search fs.FileMode = 0o001
	switch {
	case st.Uid == r.cred.Uid:
		search = 0o100
	case st.Gid == r.cred.Gid:
		search = 0o010
	}
	if mode&search != 0 {
		return nil
	}
	if st.Uid != uint32(os.Geteuid()) || search != 0o001 {
		return fmt.Errorf("pgcluster: user %s cannot enter %s (mode %v), which holds the data dir: "+
			"choose a data dir under a path it can traverse (e.g. under /tmp), or grant it search permission", superuser, dir, mode)
	}
	if err := os.Chmod(dir, fi.Mode()|0o001); err != nil {
		return fmt.Errorf("pgcluster: let user %s traverse %s: %w", superuser, dir, err)
	}
	logger.Warn("granted others search permission (o+x) so the postgres user can reach its data dir", "dir", dir)
	return nil
}
