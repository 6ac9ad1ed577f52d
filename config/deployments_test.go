package config

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// The files under deployments/ set towerbot up through TOWERBOT_* variables
// and a config file; these tests keep them in step with Config, since no
// Docker engine or cluster runs them here.

var deploymentFiles = []string{
	"compose.yaml",
	"Dockerfile",
	"k8s/configmap.yaml",
	"k8s/secret.yaml",
	"k8s/deployment.yaml",
	"k8s/migrate-job.yaml",
	"systemd/towerbot.service",
}

// TestDeploymentsNameRealVariables: a misspelt variable would be ignored
// silently at run time (Load ignores unknown TOWERBOT_ names), so every one
// the deployment files set must be a key's.
func TestDeploymentsNameRealVariables(t *testing.T) {
	known := map[string]bool{}
	for _, k := range Keys() {
		known[k.Env] = true
	}
	re := regexp.MustCompile(`TOWERBOT_[A-Z0-9_]+`)
	for _, name := range deploymentFiles {
		data, err := os.ReadFile(filepath.Join("..", "deployments", name))
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range re.FindAllString(string(data), -1) {
			if !known[v] {
				t.Errorf("%s names %s, which is no configuration key's variable", name, v)
			}
		}
	}
}

// TestKubernetesConfigValidates loads the ConfigMap's file with the
// Secret's variables (placeholders replaced by well-formed values), as a
// replica would.
func TestKubernetesConfigValidates(t *testing.T) {
	var cm struct {
		Data map[string]string `yaml:"data"`
	}
	readYAML(t, "k8s/configmap.yaml", &cm)
	file := cm.Data["towerbot.yaml"]
	if file == "" {
		t.Fatal("the ConfigMap has no towerbot.yaml")
	}
	path := writeFile(t, file)

	var secret struct {
		StringData map[string]string `yaml:"stringData"`
	}
	readYAML(t, "k8s/secret.yaml", &secret)
	byEnv := map[string]Key{}
	for _, k := range Keys() {
		byEnv[k.Env] = k
	}
	var environ []string
	for name, value := range secret.StringData {
		k, ok := byEnv[name]
		if !ok {
			t.Errorf("the Secret sets %s, which is no key's variable", name)
			continue
		}
		if !k.Secret && k.Path != "db.dsn" {
			t.Errorf("the Secret sets %s (%s), which is not a secret: put it in the ConfigMap", name, k.Path)
		}
		if strings.Contains(value, "CHANGE-ME") && strings.HasPrefix(name, "TOWERBOT_WECOM_") && strings.HasSuffix(name, "AES_KEY") {
			value = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C" // WeCom's published sample key
		}
		environ = append(environ, name+"="+value)
	}
	c, err := Load(path, environ)
	if err != nil {
		t.Fatalf("the Kubernetes config does not load: %v", err)
	}
	if c.DB.Driver != DriverMySQL || c.Redis.Addr == "" || c.Sandbox.Enabled || c.Demo || c.HTTP.Addr != ":8080" || !c.Metrics.Enabled {
		t.Errorf("the Kubernetes config is not production-shaped: %+v", c)
	}
}

// TestKubernetesScrapeAnnotations: the pod template tells Prometheus to
// scrape /metrics on the port the container listens on.
func TestKubernetesScrapeAnnotations(t *testing.T) {
	var d struct {
		Spec struct {
			Template struct {
				Metadata struct {
					Annotations map[string]string `yaml:"annotations"`
				} `yaml:"metadata"`
				Spec struct {
					Containers []struct {
						Ports []struct {
							Name          string `yaml:"name"`
							ContainerPort int    `yaml:"containerPort"`
						} `yaml:"ports"`
					} `yaml:"containers"`
				} `yaml:"spec"`
			} `yaml:"template"`
		} `yaml:"spec"`
	}
	readYAML(t, "k8s/deployment.yaml", &d)
	a := d.Spec.Template.Metadata.Annotations
	if len(d.Spec.Template.Spec.Containers) == 0 || len(d.Spec.Template.Spec.Containers[0].Ports) == 0 {
		t.Fatal("the deployment's container has no port")
	}
	port := d.Spec.Template.Spec.Containers[0].Ports[0].ContainerPort
	if a["prometheus.io/scrape"] != "true" || a["prometheus.io/path"] != "/metrics" || a["prometheus.io/port"] != strconv.Itoa(port) {
		t.Errorf("pod annotations %v; want scrape true, path /metrics, port %d", a, port)
	}
}

// TestDeploymentsLeaveSandboxOff: every shipped set-up for a server starts
// without the sandbox, which would let whoever reaches it post as anyone.
func TestDeploymentsLeaveSandboxOff(t *testing.T) {
	t.Run("compose", func(t *testing.T) {
		var compose struct {
			Services map[string]struct {
				Environment map[string]string `yaml:"environment"`
			} `yaml:"services"`
		}
		readYAML(t, "compose.yaml", &compose)
		env := compose.Services["towerbot"].Environment
		if len(env) == 0 {
			t.Fatal("compose.yaml sets no environment for towerbot")
		}
		// What compose makes of ${NAME:-default} with nothing set on the host.
		unset := regexp.MustCompile(`\$\{[A-Z0-9_]+(?::-([^}]*))?\}`)
		var environ []string
		for name, value := range env {
			environ = append(environ, name+"="+unset.ReplaceAllString(value, "$1"))
		}
		c, err := Load("", environ)
		if err != nil {
			t.Fatalf("the compose environment does not load: %v", err)
		}
		if c.Sandbox.Enabled {
			t.Errorf("compose starts towerbot with the sandbox on: %v", environ)
		}
	})
	t.Run("systemd", func(t *testing.T) {
		// The unit reads the example config (its install steps copy it to
		// /etc/towerbot/towerbot.yaml) and its own Environment= lines.
		data, err := os.ReadFile(filepath.Join("..", "deployments", "systemd", "towerbot.service"))
		if err != nil {
			t.Fatal(err)
		}
		unit := string(data)
		if !strings.Contains(unit, "deployments/towerbot.example.yaml /etc/towerbot/towerbot.yaml") ||
			!strings.Contains(unit, "serve --config /etc/towerbot/towerbot.yaml") {
			t.Fatal("the unit no longer installs and serves the example config; update this test")
		}
		var environ []string
		for _, line := range strings.Split(unit, "\n") {
			if v, ok := strings.CutPrefix(line, "Environment="); ok {
				environ = append(environ, v)
			}
		}
		c, err := Load(filepath.Join("..", "deployments", "towerbot.example.yaml"), environ)
		if err != nil {
			t.Fatalf("the systemd set-up does not load: %v", err)
		}
		if c.Sandbox.Enabled {
			t.Error("the systemd set-up starts with the sandbox on")
		}
	})
	// Kubernetes: TestKubernetesConfigValidates.
}

func readYAML(t *testing.T, name string, v any) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "deployments", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}
