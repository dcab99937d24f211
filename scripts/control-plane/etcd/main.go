// Command etcd is etcd's own server entry point, built from the etcd server
// module version that k8s.io/kubernetes itself depends on, so the apiserver
// is tested against the storage release it was built and validated with.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
