// Package buildctx lays out a function's Docker build context exactly as
// `faas-cli build --shrinkwrap` does, so that the OpenFaaS artefacts (template, stack.yml) can
// be proven without faas-cli or Docker: the template folder template/<lang>/ at the root, the
// function's handler folder under function/ (skipping entries named "build" and "template"),
// and each configuration.copy path of stack.yml under function/<path>. Paths outside the
// repository, or the repository itself, are refused as faas-cli refuses them.
package buildctx

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/dostupno/dostupno/cmd/dostupno/internal/stack"
)

// HandlerOverlay is the folder of the build context that receives the handler and the copy
// paths (faas-cli's default).
const HandlerOverlay = "function"

// Assemble lays out the build context of the function called name of s into dst, reading the
// repository at repoRoot. dst must be absent or an empty directory. Files are plain copies
// with their permission bits.
func Assemble(repoRoot string, s *stack.Stack, name, dst string) error {
	f, ok := s.Function(name)
	if !ok {
		return fmt.Errorf("build context: no function %s in stack.yml", name)
	}
	if err := emptyDir(dst); err != nil {
		return fmt.Errorf("build context %s: %w", name, err)
	}
	tpl := filepath.Join(repoRoot, "template", f.Lang)
	if _, err := os.Stat(filepath.Join(tpl, "template.yml")); err != nil {
		return fmt.Errorf("build context %s: template %s: %w", name, f.Lang, err)
	}
	if err := copyTree(tpl, dst); err != nil {
		return fmt.Errorf("build context %s: template: %w", name, err)
	}
	overlay := filepath.Join(dst, HandlerOverlay)
	if err := os.MkdirAll(overlay, 0o755); err != nil {
		return fmt.Errorf("build context %s: %w", name, err)
	}
	handler, err := inScope(repoRoot, f.Handler)
	if err != nil {
		return fmt.Errorf("build context %s: handler: %w", name, err)
	}
	entries, err := os.ReadDir(handler)
	if err != nil {
		return fmt.Errorf("build context %s: handler: %w", name, err)
	}
	for _, e := range entries {
		if e.Name() == "build" || e.Name() == "template" {
			continue
		}
		if err := copyTree(filepath.Join(handler, e.Name()), filepath.Join(overlay, e.Name())); err != nil {
			return fmt.Errorf("build context %s: handler: %w", name, err)
		}
	}
	for _, p := range s.Configuration.Copy {
		src, err := inScope(repoRoot, p)
		if err != nil {
			return fmt.Errorf("build context %s: copy %s: %w", name, p, err)
		}
		if err := copyTree(src, filepath.Join(overlay, filepath.FromSlash(filepath.Clean(p)))); err != nil {
			return fmt.Errorf("build context %s: copy %s: %w", name, p, err)
		}
	}
	return nil
}

// inScope resolves p (relative to root) and refuses the root itself and anything outside it.
func inScope(root, p string) (string, error) {
	absRoot, err := filepath.Abs(root)
	if err != nil {
		return "", err
	}
	abs, err := filepath.Abs(filepath.Join(absRoot, filepath.FromSlash(p)))
	if err != nil {
		return "", err
	}
	switch {
	case abs == absRoot:
		return "", fmt.Errorf("path %s is the whole repository", p)
	case !strings.HasPrefix(abs, absRoot+string(filepath.Separator)):
		return "", fmt.Errorf("path %s is outside the repository", p)
	}
	return abs, nil
}

func emptyDir(dir string) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return os.MkdirAll(dir, 0o755)
	case err != nil:
		return err
	case len(entries) > 0:
		return fmt.Errorf("%s is not empty", dir)
	}
	return nil
}

// copyTree copies the file or directory src to dst, merging into directories that exist.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case info.Mode().IsRegular():
			return copyFile(path, target, info.Mode().Perm())
		default:
			return fmt.Errorf("%s: not a regular file or directory", path)
		}
	})
}

func copyFile(src, dst string, perm fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copy %s: %w", src, err)
	}
	return out.Close()
}

// FetchModules readies the build context at dir for the Dockerfile's offline build stage
// (GOPROXY=off) on this machine: it puts the handler's go.sum beside the context's go.mod, as
// the Dockerfile does, and the modules of the build's graph in this machine's module cache
// through its own GOPROXY, as a real image build fetches them. Without it, a machine whose
// cache never held a module of the graph (a go.mod the build only reads) fails the build.
func FetchModules(ctx context.Context, dir string) error {
	sum, err := os.ReadFile(filepath.Join(dir, HandlerOverlay, "go.sum"))
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "go.sum"), sum, 0o644); err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "go", "list", "-deps", ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod -buildvcs=false", "GOWORK=off", "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("fetch the modules of %s: %w\n%s", dir, err, out)
	}
	return nil
}
