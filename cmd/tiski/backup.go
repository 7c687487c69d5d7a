package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"tiski/internal/chat"
	"tiski/internal/db"
	"tiski/internal/server"
)

func backupCmd(args []string) error {
	var to string
	_, cfg, err := adminFlags("backup", args, func(fs *flag.FlagSet) {
		fs.StringVar(&to, "to", "", "file to write the backup to (must not exist)")
	})
	if err != nil {
		return err
	}
	if to == "" {
		return errors.New("usage: tiski backup --data DIR --to FILE")
	}
	ctx := context.Background()
	d, err := db.Open(ctx, cfg.DB, db.Options{})
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Backup(ctx, to); err != nil {
		return explain(err)
	}
	fmt.Printf("Backed up the database to %s (uploaded files are in %s)\n", to, filepath.Join(cfg.DataDir, "files"))
	return nil
}

func restoreCmd(args []string) error {
	var from string
	_, cfg, err := adminFlags("restore", args, func(fs *flag.FlagSet) {
		fs.StringVar(&from, "from", "", "backup file made by tiski backup")
	})
	if err != nil {
		return err
	}
	if from == "" {
		return errors.New("usage: tiski restore --data DIR --from FILE  (with the server stopped)")
	}
	unlock, err := server.LockDataDir(cfg.DataDir)
	if err != nil {
		return err
	}
	defer unlock()
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if err := os.Remove(cfg.DB + suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	if err := copyFile(from, cfg.DB); err != nil {
		return err
	}
	ctx := context.Background()
	s, err := openStores(ctx, cfg)
	if err != nil {
		return err
	}
	defer s.db.Close()
	// Clients may hold messages the backup lacks: new epochs make them refetch.
	n, err := chat.NewService(s.db, s.clock, nil, nil).RotateEpochs(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("Restored %s; %d conversations will be refetched by connected clients\n", from, n)
	return nil
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(to), 0o700); err != nil {
		return err
	}
	out, err := os.OpenFile(to, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
