package libvirtx

import "sync"

// parallel runs fn(0..n-1) with at most width in flight. libvirtd serves
// five requests per client at once by default; more in flight keeps its
// queue full while replies travel back.
func parallel(n, width int, fn func(i int)) {
	if n == 0 {
		return
	}
	if width > n {
		width = n
	}
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < width; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				fn(i)
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
}
