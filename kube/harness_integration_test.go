//go:build integration

package kube_test

// The harness starts a real control plane on loopback for the tests of this package:
// etcd (Debian's etcd-server) and kube-apiserver (built from the k8s.io/kubernetes module by
// scripts/kube-apiserver-build.sh; its path in FLINKTUNE_KUBE_APISERVER), with self-signed
// certificates made here, a token file for authentication and the RBAC authorizer, so that
// flinktune runs with deploy/rbac.yaml's grants and nothing more. No controller-manager or
// kubelet runs: Deployments get no pods; the tests' own "operator" and "kubelet" stand-ins
// (operator_integration_test.go) do what those would do to the simulated Flink.

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/flinktune/flinktune/kube"
	"gopkg.in/yaml.v3"
)

const (
	testNS     = "flink"
	adminToken = "admin-token-for-tests"
	saToken    = "flinktune-sa-token-for-tests"
	saUser     = "system:serviceaccount:flink:flinktune"
)

type apiEnv struct {
	dir        string
	url        string
	ca         []byte
	admin      *kube.Client // system:masters, as the user and the test stand-ins
	sa         *kube.Client // flinktune's service account: deploy/rbac.yaml's grants only
	kubeconfig string       // for flinktune processes, as the service account
	binary     string       // flinktune, built once
	procs      []*exec.Cmd
}

var env *apiEnv

func TestMain(m *testing.M) {
	os.Exit(mainWithEnv(m))
}

func mainWithEnv(m *testing.M) int {
	bin := os.Getenv("FLINKTUNE_KUBE_APISERVER")
	if bin == "" {
		fmt.Println("FLINKTUNE_KUBE_APISERVER is not set: scripts/integration.d/30-kubernetes.sh builds kube-apiserver and sets it")
		return 1
	}
	e := &apiEnv{}
	defer e.stop()
	start := time.Now()
	if err := e.start(bin); err != nil {
		fmt.Fprintln(os.Stderr, "starting the control plane:", err)
		return 1
	}
	fmt.Printf("control plane (etcd + kube-apiserver) ready in %s\n", time.Since(start).Round(time.Millisecond))
	env = e
	return m.Run()
}

// startProc starts a child that dies with the test process, even on a panic or kill.
func (e *apiEnv) startProc(logName string, name string, args ...string) (*exec.Cmd, error) {
	cmd := exec.Command(name, args...)
	f, err := os.Create(filepath.Join(e.dir, logName+".log"))
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	e.procs = append(e.procs, cmd)
	return cmd, nil
}

func (e *apiEnv) stop() {
	for i := len(e.procs) - 1; i >= 0; i-- {
		p := e.procs[i]
		p.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { p.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			p.Process.Kill()
			<-done
		}
	}
	if e.dir != "" && os.Getenv("FLINKTUNE_KEEP") == "" {
		os.RemoveAll(e.dir)
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (e *apiEnv) start(apiserver string) error {
	var err error
	if e.dir, err = os.MkdirTemp("", "flinktune-kube-"); err != nil {
		return err
	}
	e.binary = filepath.Join(e.dir, "flinktune")
	build := exec.Command("go", "build", "-o", e.binary, "../cmd/flinktune")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("building flinktune: %w", err)
	}
	if err := e.certs(); err != nil {
		return err
	}
	tokens := fmt.Sprintf("%s,admin,admin-uid,\"system:masters\"\n%s,%s,sa-uid,\"system:serviceaccounts,system:serviceaccounts:flink\"\n",
		adminToken, saToken, saUser)
	if err := os.WriteFile(filepath.Join(e.dir, "tokens.csv"), []byte(tokens), 0o600); err != nil {
		return err
	}
	// Audit what the service account does: the RBAC test checks every grant is used.
	audit := "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Metadata\n  users: [\"" + saUser + "\"]\n- level: None\n"
	if err := os.WriteFile(filepath.Join(e.dir, "audit-policy.yaml"), []byte(audit), 0o600); err != nil {
		return err
	}
	client, _ := freePort()
	peer, _ := freePort()
	secure, _ := freePort()
	etcdURL := fmt.Sprintf("http://127.0.0.1:%d", client)
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", peer)
	if _, err := e.startProc("etcd", "etcd", "--name", "t", "--data-dir", filepath.Join(e.dir, "etcd"),
		"--listen-client-urls", etcdURL, "--advertise-client-urls", etcdURL,
		"--listen-peer-urls", peerURL, "--initial-advertise-peer-urls", peerURL, "--initial-cluster", "t="+peerURL,
	); err != nil {
		return fmt.Errorf("etcd (apt-get install etcd-server): %w", err)
	}
	d := e.dir
	if _, err := e.startProc("kube-apiserver", apiserver,
		"--etcd-servers", etcdURL, "--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1",
		fmt.Sprintf("--secure-port=%d", secure), "--cert-dir", filepath.Join(d, "certs"),
		"--tls-cert-file", filepath.Join(d, "server.crt"), "--tls-private-key-file", filepath.Join(d, "server.key"),
		"--token-auth-file", filepath.Join(d, "tokens.csv"), "--authorization-mode", "RBAC",
		"--service-account-issuer", "https://kubernetes.default.svc", "--service-account-key-file", filepath.Join(d, "sa.key"),
		"--service-account-signing-key-file", filepath.Join(d, "sa.key"), "--service-cluster-ip-range", "10.0.0.0/24",
		"--disable-admission-plugins", "ServiceAccount", "--enable-priority-and-fairness=false",
		"--audit-policy-file", filepath.Join(d, "audit-policy.yaml"), "--audit-log-path", filepath.Join(d, "audit.log"),
		"--endpoint-reconciler-type", "none", "--profiling=false", "--v=1"); err != nil {
		return err
	}
	e.url = fmt.Sprintf("https://127.0.0.1:%d", secure)
	if e.admin, err = kube.New(kube.Config{Host: e.url, CAData: e.ca, Token: adminToken, UserAgent: "kubectl-edit", Timeout: 30 * time.Second}); err != nil {
		return err
	}
	if e.sa, err = kube.New(kube.Config{Host: e.url, CAData: e.ca, Token: saToken, UserAgent: "sa-probe"}); err != nil {
		return err
	}
	if err := e.waitReady(3 * time.Minute); err != nil {
		return err
	}
	if err := e.setup(); err != nil {
		return err
	}
	kc := fmt.Sprintf(`apiVersion: v1
kind: Config
current-context: t
clusters: [{name: t, cluster: {server: %q, certificate-authority: ca.crt}}]
contexts: [{name: t, context: {cluster: t, user: flinktune, namespace: %s}}]
users: [{name: flinktune, user: {token: %q}}]
`, e.url, testNS, saToken)
	e.kubeconfig = filepath.Join(d, "kubeconfig")
	return os.WriteFile(e.kubeconfig, []byte(kc), 0o600)
}

func (e *apiEnv) waitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		// /readyz: every post-start hook done (RBAC's bootstrap roles among them).
		if last = e.readyz(); last == nil {
			return nil
		}
		for _, p := range e.procs {
			if p.ProcessState != nil {
				return fmt.Errorf("%s exited", p.Path)
			}
		}
		time.Sleep(500 * time.Millisecond)
	}
	log, _ := os.ReadFile(filepath.Join(e.dir, "kube-apiserver.log"))
	if len(log) > 4000 {
		log = log[len(log)-4000:]
	}
	return fmt.Errorf("kube-apiserver not ready in %s: %v\n%s", timeout, last, log)
}

func (e *apiEnv) readyz() error {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(e.ca)
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	req, _ := http.NewRequest(http.MethodGet, e.url+"/readyz", nil)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("/readyz: %s %s", resp.Status, body)
	}
	return nil
}

var (
	crds       = kube.Resource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	namespaces = kube.Resource{Version: "v1", Resource: "namespaces"}
)

// kindResource maps the kinds of deploy/ and testdata to their resources.
var kindResource = map[string]kube.Resource{
	"Namespace":                namespaces,
	"ServiceAccount":           {Version: "v1", Resource: "serviceaccounts"},
	"ConfigMap":                {Version: "v1", Resource: "configmaps"},
	"Role":                     {Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "roles"},
	"RoleBinding":              {Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "rolebindings"},
	"Deployment":               kube.Deployments,
	"CustomResourceDefinition": crds,
}

// readYAML reads every document of a YAML file as JSON-compatible objects.
func readYAML(path string) ([]kube.Object, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var out []kube.Object
	for {
		var v map[string]any
		if err := dec.Decode(&v); err == io.EOF {
			return out, nil
		} else if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if v == nil {
			continue
		}
		b, err := json.Marshal(v) // normalizes yaml.v3's types
		if err != nil {
			return nil, err
		}
		var o kube.Object
		json.Unmarshal(b, &o)
		out = append(out, o)
	}
}

// applyFile server-side applies every object of a file as the admin.
func applyFile(ctx context.Context, c *kube.Client, path string, dryRun bool) error {
	objs, err := readYAML(path)
	if err != nil {
		return err
	}
	for _, o := range objs {
		r, ok := kindResource[o.Str("kind")]
		if !ok {
			return fmt.Errorf("%s: kind %q not known to the test", path, o.Str("kind"))
		}
		if _, err := c.Apply(ctx, r, o.Namespace(), o.Name(), o, dryRun); err != nil {
			return fmt.Errorf("%s: %s %s: %w", path, o.Str("kind"), o.Name(), err)
		}
	}
	return nil
}

func (e *apiEnv) setup() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for _, f := range []string{"testdata/flinkdeployments.flink.apache.org-v1.yml", "testdata/flinksessionjobs.flink.apache.org-v1.yml"} {
		if err := applyFile(ctx, e.admin, f, false); err != nil {
			return err
		}
	}
	if _, err := e.admin.Create(ctx, namespaces, "", kube.Object{"apiVersion": "v1", "kind": "Namespace",
		"metadata": map[string]any{"name": testNS}}, false); err != nil {
		return err
	}
	for _, f := range []string{"../deploy/serviceaccount.yaml", "../deploy/rbac.yaml"} {
		if err := applyFile(ctx, e.admin, f, false); err != nil {
			return err
		}
	}
	// The CRDs are served once established.
	for ctx.Err() == nil {
		_, _, err1 := e.admin.List(ctx, kube.FlinkDeployments, testNS, "")
		_, _, err2 := e.admin.List(ctx, kube.FlinkSessionJobs, testNS, "")
		if err1 == nil && err2 == nil {
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("CRDs not served: %w", ctx.Err())
}

// certs makes a CA, the API server's serving certificate and the service account key.
func (e *apiEnv) certs() error {
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "flinktune-test-ca"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), IsCA: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature, BasicConstraintsValid: true}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return err
	}
	caCert, _ := x509.ParseCertificate(caDER)
	srvKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	srvTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "kube-apiserver"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost", "kubernetes.default.svc"}}
	srvDER, err := x509.CreateCertificate(rand.Reader, srvTmpl, caCert, &srvKey.PublicKey, caKey)
	if err != nil {
		return err
	}
	srvKeyDER, _ := x509.MarshalECPrivateKey(srvKey)
	saKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	e.ca = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	files := map[string][]byte{
		"ca.crt":     e.ca,
		"server.crt": pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srvDER}),
		"server.key": pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: srvKeyDER}),
		"sa.key":     pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(saKey)}),
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(e.dir, name), data, 0o600); err != nil {
			return err
		}
	}
	return nil
}

// flinktuneProc is a flinktune process with its log in the environment's directory.
type flinktuneProc struct {
	cmd *exec.Cmd
	log string
}

func (e *apiEnv) startFlinktune(t *testing.T, name string, args ...string) *flinktuneProc {
	t.Helper()
	cmd, err := e.startProc(name, e.binary, args...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return &flinktuneProc{cmd: cmd, log: filepath.Join(e.dir, name+".log")}
}

func (p *flinktuneProc) output() string {
	b, _ := os.ReadFile(p.log)
	return string(b)
}

// waitOutput waits for a line containing sub and returns it.
func (p *flinktuneProc) waitOutput(t *testing.T, sub string, timeout time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		for l := range strings.SplitSeq(p.output(), "\n") {
			if strings.Contains(l, sub) {
				return l
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no %q in %s's output within %s:\n%s", sub, p.log, timeout, tail(p.output(), 3000))
	return ""
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
