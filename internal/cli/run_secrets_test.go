package cli

import (
	"strings"
	"testing"
)

// TestClusterConfigSecrets reproduces issue 13: an unset passwordEnv silently sent an empty
// password, and a password in a cluster URL was printed in configuration errors.
func TestClusterConfigSecrets(t *testing.T) {
	t.Setenv("FLINKTUNE_TEST_PW", "pw")
	for _, tc := range []struct {
		cfg  clusterConfig
		want string // "" = accepted
	}{
		{clusterConfig{URL: "http://h:8081", Username: "admin", PasswordEnv: "FLINKTUNE_TEST_UNSET_PW"}, "FLINKTUNE_TEST_UNSET_PW (password of user \"admin\") is not set"},
		{clusterConfig{URL: "http://h:8081", Username: "admin"}, "needs passwordEnv"},
		{clusterConfig{URL: "http://h:8081", Username: "admin", PasswordEnv: "FLINKTUNE_TEST_PW"}, ""},
		{clusterConfig{URL: "http://admin:hunter2@h:8081", Timeout: "soon"}, `timeout "soon"`},
		{clusterConfig{URL: "http://admin:hunter2@[h:8081"}, "flink REST URL"},
		{clusterConfig{URL: "http://admin:hunter2@h:8081", BearerTokenEnv: "FLINKTUNE_TEST_UNSET_TOKEN"}, "FLINKTUNE_TEST_UNSET_TOKEN"},
	} {
		_, _, err := buildClusters([]clusterConfig{tc.cfg}, nil)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%+v: %v", tc.cfg, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%+v: error %v, want one containing %q", tc.cfg, err, tc.want)
		case err != nil && strings.Contains(err.Error(), "hunter2"):
			t.Errorf("the error shows the password: %v", err)
		}
	}
}
