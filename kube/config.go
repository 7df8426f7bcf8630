package kube

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"
)

// Where a pod finds its service account.
const (
	saDir = "/var/run/secrets/kubernetes.io/serviceaccount"
)

// InCluster returns the pod's configuration: KUBERNETES_SERVICE_HOST/PORT and the
// service account's token, CA and namespace.
func InCluster() (Config, error) {
	host, port := os.Getenv("KUBERNETES_SERVICE_HOST"), os.Getenv("KUBERNETES_SERVICE_PORT")
	if host == "" || port == "" {
		return Config{}, errors.New("not in a Kubernetes pod (KUBERNETES_SERVICE_HOST is not set): pass --kubeconfig")
	}
	ca, err := os.ReadFile(filepath.Join(saDir, "ca.crt"))
	if err != nil {
		return Config{}, fmt.Errorf("in-cluster CA: %w", err)
	}
	ns, _ := os.ReadFile(filepath.Join(saDir, "namespace"))
	return Config{Host: "https://" + net.JoinHostPort(host, port), CAData: ca,
		TokenFile: filepath.Join(saDir, "token"), Namespace: strings.TrimSpace(string(ns))}, nil
}

type kubeconfig struct {
	CurrentContext string `yaml:"current-context"`
	Clusters       []struct {
		Name    string `yaml:"name"`
		Cluster struct {
			Server                   string `yaml:"server"`
			CertificateAuthority     string `yaml:"certificate-authority"`
			CertificateAuthorityData string `yaml:"certificate-authority-data"`
			InsecureSkipTLSVerify    bool   `yaml:"insecure-skip-tls-verify"`
		} `yaml:"cluster"`
	} `yaml:"clusters"`
	Contexts []struct {
		Name    string `yaml:"name"`
		Context struct {
			Cluster   string `yaml:"cluster"`
			User      string `yaml:"user"`
			Namespace string `yaml:"namespace"`
		} `yaml:"context"`
	} `yaml:"contexts"`
	Users []struct {
		Name string `yaml:"name"`
		User struct {
			Token                 string `yaml:"token"`
			TokenFile             string `yaml:"tokenFile"`
			ClientCertificate     string `yaml:"client-certificate"`
			ClientCertificateData string `yaml:"client-certificate-data"`
			ClientKey             string `yaml:"client-key"`
			ClientKeyData         string `yaml:"client-key-data"`
			Exec                  any    `yaml:"exec"`
		} `yaml:"user"`
	} `yaml:"users"`
}

// LoadKubeconfig reads a kubeconfig file's context (its current-context when context is
// ""). Tokens, token files and client certificates are supported; exec plugins are not.
func LoadKubeconfig(path, context string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("kubeconfig: %w", err)
	}
	cfg, err := ParseKubeconfig(data, context, filepath.Dir(path))
	if err != nil {
		return Config{}, fmt.Errorf("kubeconfig %s: %w", path, err)
	}
	return cfg, nil
}

// ParseKubeconfig parses a kubeconfig; relative file names resolve against dir.
func ParseKubeconfig(data []byte, context, dir string) (Config, error) {
	var kc kubeconfig
	if err := yaml.Unmarshal(data, &kc); err != nil {
		return Config{}, err
	}
	if context == "" {
		context = kc.CurrentContext
	}
	if context == "" {
		return Config{}, errors.New("no current-context: pass a context")
	}
	var cfg Config
	found := false
	var clusterName, userName string
	for _, c := range kc.Contexts {
		if c.Name == context {
			found, clusterName, userName, cfg.Namespace = true, c.Context.Cluster, c.Context.User, c.Context.Namespace
		}
	}
	if !found {
		return Config{}, fmt.Errorf("context %q not found", context)
	}
	found = false
	for _, c := range kc.Clusters {
		if c.Name != clusterName {
			continue
		}
		found = true
		cfg.Host, cfg.Insecure = c.Cluster.Server, c.Cluster.InsecureSkipTLSVerify
		var err error
		if cfg.CAData, err = dataOrFile(c.Cluster.CertificateAuthorityData, c.Cluster.CertificateAuthority, dir); err != nil {
			return Config{}, fmt.Errorf("cluster %q certificate-authority: %w", clusterName, err)
		}
	}
	if !found {
		return Config{}, fmt.Errorf("context %q: cluster %q not found", context, clusterName)
	}
	for _, u := range kc.Users {
		if u.Name != userName {
			continue
		}
		if u.User.Exec != nil {
			return Config{}, fmt.Errorf("user %q: exec credential plugins are not supported; use a token or client certificate", userName)
		}
		cfg.Token = u.User.Token
		if u.User.TokenFile != "" {
			cfg.TokenFile = resolve(u.User.TokenFile, dir)
		}
		var err error
		if cfg.CertData, err = dataOrFile(u.User.ClientCertificateData, u.User.ClientCertificate, dir); err != nil {
			return Config{}, fmt.Errorf("user %q client-certificate: %w", userName, err)
		}
		if cfg.KeyData, err = dataOrFile(u.User.ClientKeyData, u.User.ClientKey, dir); err != nil {
			return Config{}, fmt.Errorf("user %q client-key: %w", userName, err)
		}
	}
	if cfg.Namespace == "" {
		cfg.Namespace = "default"
	}
	return cfg, nil
}

func dataOrFile(b64, file, dir string) ([]byte, error) {
	if b64 != "" {
		return base64.StdEncoding.DecodeString(b64)
	}
	if file != "" {
		return os.ReadFile(resolve(file, dir))
	}
	return nil, nil
}

func resolve(file, dir string) string {
	if filepath.IsAbs(file) {
		return file
	}
	return filepath.Join(dir, file)
}
