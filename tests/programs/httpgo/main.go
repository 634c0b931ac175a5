// httpgo: a net/http server on 127.0.0.1 and 4 goroutines that each GET
// from it 500 times; prints the bytes received ("bytes 10000"). Built as a
// static Go binary by tests/direct_syscalls.rs.
package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
)

func main() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println("listen:", err)
		os.Exit(1)
	}
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello") })
	go http.Serve(ln, nil)
	url := "http://" + ln.Addr().String() + "/"
	var wg sync.WaitGroup
	var mu sync.Mutex
	total := 0
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				resp, err := http.Get(url)
				if err != nil {
					fmt.Println("get:", err)
					os.Exit(1)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				mu.Lock()
				total += len(b)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	fmt.Println("bytes", total)
}
