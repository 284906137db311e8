package cluster_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerweave/peerweave/cluster"
)

// Every error of the package says something no other says, so that a log
// line tells them apart: ErrRemoteLeft (a request's remote left before it
// answered) and ErrRemoteLeave (a remote said goodbye) did not.
func TestErrorTextsDiffer(t *testing.T) {
	t.Parallel()
	errs := []error{
		cluster.ErrClosed, cluster.ErrUnknownRemote, cluster.ErrMessageTooLarge, cluster.ErrTimeout,
		cluster.ErrIncompatible, cluster.ErrAuth, cluster.ErrRejected, cluster.ErrLabelMismatch,
		cluster.ErrNameConflict, cluster.ErrTagsTooLarge, cluster.ErrSilence, cluster.ErrWriteStalled,
		cluster.ErrConnLost, cluster.ErrProtocol, cluster.ErrLocalLeave, cluster.ErrRemoteLeave,
		cluster.ErrReplaced, cluster.ErrRemoteLeft, cluster.ErrRemoteLost, cluster.ErrNoHandler,
		cluster.ErrEncode, cluster.ErrDecode, cluster.ErrNoValues, cluster.ErrShortSecret,
		cluster.ErrStalled, cluster.ErrBusy,
	}
	seen := make(map[string]error)
	for _, err := range errs {
		text := err.Error()
		if other, dup := seen[text]; dup {
			t.Errorf("%#v and %#v both say %q", other, err, text)
		}
		seen[text] = err
	}
	assert.NotEqual(t, cluster.ErrRemoteLeft.Error(), cluster.ErrRemoteLeave.Error())
}

// The package's errors are declared in one file, errors.go, where a reader
// finds them all.
func TestErrorsInOneFile(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") || path == "errors.go" {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
		require.NoError(t, err)
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok {
				continue
			}
			for _, s := range g.Specs {
				switch s := s.(type) {
				case *ast.ValueSpec:
					for _, name := range s.Names {
						assert.False(t, name.IsExported() && strings.HasPrefix(name.Name, "Err"),
							"error %s is declared in %s, not errors.go", name, path)
					}
				case *ast.TypeSpec:
					assert.False(t, s.Name.IsExported() && strings.HasSuffix(s.Name.Name, "Error"),
						"error type %s is declared in %s, not errors.go", s.Name, path)
				}
			}
		}
	}
}
