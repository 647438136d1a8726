// A cross-check of the glide fixtures with Go itself (stdlib only): the
// structs carry the JSON tags of Paraglider v0.1.0's generated protobuf types
// and config.CloudDeployment, and requests are made the way pkg/client does
// (http.NewRequest with bytes.NewBuffer(json.Marshal(v)) or a nil body, then
// (&http.Client{}).Do). Used by glide-go.test.ts when `go` is installed.
//
//	go run . capture <fixtures dir>          prints, per fixture, the bytes Go sends for the value it encodes
//	go run . replay <fixtures dir> <address> sends them in order and decodes each answer with encoding/json
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

type PermitListRule struct {
	Name      string   `json:"name,omitempty"`
	Targets   []string `json:"targets,omitempty"`
	Direction int32    `json:"direction,omitempty"`
	SrcPort   int32    `json:"src_port,omitempty"`
	DstPort   int32    `json:"dst_port,omitempty"`
	Protocol  int32    `json:"protocol,omitempty"`
	Tags      []string `json:"tags,omitempty"`
}

type ResourceDescriptionString struct {
	Name        string `json:"name,omitempty"`
	Description string `json:"description,omitempty"`
}

type ResourceID struct {
	Id string `json:"id,omitempty"`
}

type TagMapping struct {
	Name      string   `json:"name,omitempty"`
	ChildTags []string `json:"child_tags,omitempty"`
	Uri       *string  `json:"uri,omitempty"`
	Ip        *string  `json:"ip,omitempty"`
}

type CloudDeployment struct {
	Name       string `yaml:"name"`
	Deployment string `yaml:"deployment"`
}

type fixture struct {
	name   string
	method string
	path   string
	body   []byte
	hasLen bool
}

func readFixtures(dir string) []fixture {
	files, _ := filepath.Glob(filepath.Join(dir, "*.http"))
	sort.Strings(files)
	var out []fixture
	for _, f := range files {
		raw, err := os.ReadFile(f)
		must(err)
		req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
		must(err)
		body, _ := io.ReadAll(req.Body)
		out = append(out, fixture{filepath.Base(f), req.Method, req.URL.Path, body, req.Header.Get("Content-Length") != "" || req.ContentLength > 0})
	}
	return out
}

// The Go value a fixture's body encodes, as the client would hold it before json.Marshal.
func valueOf(f fixture) (interface{}, bool) {
	if len(f.body) == 0 {
		return nil, false
	}
	var v interface{}
	switch {
	case strings.HasSuffix(f.path, "/applyRules") || (strings.HasSuffix(f.path, "/rules") && f.method == "POST" && strings.HasPrefix(f.path, "/tags/")):
		v = &[]*PermitListRule{}
	case strings.HasSuffix(f.path, "/deleteRules") || (strings.HasSuffix(f.path, "/rules") && f.method == "DELETE"):
		v = &[]string{}
	case strings.Contains(f.path, "/rules/") || strings.HasSuffix(f.path, "/rules"):
		v = &PermitListRule{}
	case strings.HasSuffix(f.path, "/applyMembers"):
		v = &TagMapping{}
	case f.method == "PUT":
		v = &ResourceDescriptionString{}
	default:
		v = &ResourceID{}
	}
	must(json.Unmarshal(f.body, v))
	return v, true
}

// The request as pkg/client's sendRequest makes it.
func request(f fixture, base string, raw bool) *http.Request {
	var body io.Reader
	if v, ok := valueOf(f); ok {
		if raw {
			body = bytes.NewBuffer(f.body) // a REST client's own text (the documented example)
		} else {
			b, err := json.Marshal(v)
			must(err)
			body = bytes.NewBuffer(b)
		}
	}
	req, err := http.NewRequest(f.method, base+f.path, body)
	must(err)
	return req
}

func capture(dir string) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(err)
	got := make(chan []byte, 1)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			r := bufio.NewReader(c)
			var buf bytes.Buffer
			length := 0
			for {
				line, err := r.ReadString('\n')
				must(err)
				buf.WriteString(line)
				if strings.HasPrefix(strings.ToLower(line), "content-length:") {
					length, _ = strconv.Atoi(strings.TrimSpace(line[len("content-length:"):]))
				}
				if line == "\r\n" {
					break
				}
			}
			b := make([]byte, length)
			_, err = io.ReadFull(r, b)
			must(err)
			buf.Write(b)
			c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"))
			c.Close()
			got <- buf.Bytes()
		}
	}()
	host := ln.Addr().String()
	out := map[string]string{}
	for _, f := range readFixtures(dir) {
		raw := strings.Contains(f.name, "documented")
		resp, err := (&http.Client{}).Do(request(f, "http://"+host, raw))
		must(err)
		resp.Body.Close()
		out[f.name] = strings.Replace(string(<-got), "Host: "+host, "Host: {{host}}", 1)
	}
	must(json.NewEncoder(os.Stdout).Encode(out))
}

// The type pkg/client unmarshals an answer into (none: it ignores the body).
func decodeTarget(f fixture) interface{} {
	switch {
	case f.method == "GET" && f.path == "/namespaces":
		return &map[string][]CloudDeployment{}
	case (f.method == "PUT" || f.method == "POST") && strings.HasSuffix(strings.TrimSuffix(f.path, "/"), "/resources"),
		f.method == "PUT" && strings.Count(f.path, "/") == 6:
		return &map[string]string{}
	case f.method == "GET" && strings.HasSuffix(f.path, "/rules"):
		return &[]*PermitListRule{}
	case f.method == "GET" && f.path == "/tags", strings.HasSuffix(f.path, "/resolveMembers"):
		return &[]*TagMapping{}
	case f.method == "GET" && strings.HasPrefix(f.path, "/tags/"):
		return &TagMapping{}
	}
	return nil
}

func replay(dir, addr string) {
	type result struct {
		Fixture string      `json:"fixture"`
		Status  int         `json:"status"`
		Decoded interface{} `json:"decoded,omitempty"`
		Error   string      `json:"error,omitempty"`
	}
	var out []result
	for _, f := range readFixtures(dir) {
		raw := strings.Contains(f.name, "documented")
		resp, err := (&http.Client{}).Do(request(f, "http://"+addr, raw))
		must(err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		r := result{Fixture: f.name, Status: resp.StatusCode}
		if t := decodeTarget(f); t != nil && resp.StatusCode == http.StatusOK {
			dec := json.NewDecoder(bytes.NewReader(b))
			if err := dec.Decode(t); err != nil {
				r.Error = err.Error()
			} else {
				r.Decoded = t
			}
		}
		out = append(out, r)
	}
	must(json.NewEncoder(os.Stdout).Encode(out))
}

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
}

func main() {
	switch os.Args[1] {
	case "capture":
		capture(os.Args[2])
	case "replay":
		replay(os.Args[2], os.Args[3])
	}
}
