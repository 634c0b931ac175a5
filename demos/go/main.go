// A static Go program: goroutines and channels, and a net/http server that
// answers its own client on loopback.
package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
)

func main() {
	var wg sync.WaitGroup
	sums := make(chan int, 8)
	for i := 1; i <= 8; i++ {
		wg.Add(1)
		go func(n int) {
			defer wg.Done()
			s := 0
			for k := 0; k < n*100000; k++ {
				s += k
			}
			sums <- s
		}(i)
	}
	wg.Wait()
	close(sums)
	total := 0
	for s := range sums {
		total += s
	}
	fmt.Println("goroutines:", total)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "you asked for %s\n", r.URL.Path)
	})
	go http.Serve(ln, mux)
	resp, err := http.Get("http://" + ln.Addr().String() + "/occlum")
	if err != nil {
		panic(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Print("http: ", resp.Status, " ", string(body))
	fmt.Println("Hello from Go")
}
