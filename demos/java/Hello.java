import java.util.*;
import java.util.concurrent.*;
public class Hello {
    public static void main(String[] args) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(4);
        List<Future<Long>> fs = new ArrayList<>();
        for (int i = 1; i <= 4; i++) { final int n = i; fs.add(pool.submit(() -> { long s = 0; for (int k = 0; k < n * 1000000; k++) s += k; return s; })); }
        long total = 0; for (Future<Long> f : fs) total += f.get();
        pool.shutdown();
        Map<String, Integer> m = new TreeMap<>(); for (String w : "to be or not to be".split(" ")) m.merge(w, 1, Integer::sum);
        System.out.println("Hello from Java " + System.getProperty("java.version") + ": " + total + " " + m);
    }
}
