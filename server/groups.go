package server

import (
	"fmt"

	"github.com/BurntSushi/toml"

	"github.com/termcall/termcall/server/proto"
)

// groupsFile is the TOML layout of a groups file:
//
//	[groups]
//	team = ["alice", "bob"]
type groupsFile struct {
	Groups map[string][]string `toml:"groups"`
}

// LoadGroups reads IM groups from a TOML file.
func LoadGroups(path string) (map[string][]string, error) {
	var f groupsFile
	md, err := toml.DecodeFile(path, &f)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrGroupsFile, path, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		return nil, fmt.Errorf("%w: %s: unknown key %s", ErrGroupsFile, path, und[0])
	}
	for gid, members := range f.Groups {
		for _, m := range members {
			if !proto.ValidUserID(m) {
				return nil, fmt.Errorf("%w: %s: group %q: invalid userID %q", ErrGroupsFile, path, gid, m)
			}
		}
	}
	if f.Groups == nil {
		f.Groups = map[string][]string{}
	}
	return f.Groups, nil
}
