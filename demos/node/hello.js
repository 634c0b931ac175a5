// A tour of Node.js: timers and promises, a worker-free event loop,
// buffers and crypto, and an HTTP server and client on loopback.
const http = require("http");
const crypto = require("crypto");

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function main() {
  await sleep(10);
  const digest = crypto.createHash("sha256").update("occlum").digest("hex");
  console.log("sha256:", digest);
  console.log("buffer:", Buffer.from("hello").toString("base64"));
  const server = http.createServer((req, res) => res.end(`you asked for ${req.url}\n`));
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  const body = await new Promise((resolve, reject) => {
    http.get({ host: "127.0.0.1", port, path: "/occlum" }, (res) => {
      let data = "";
      res.on("data", (c) => (data += c));
      res.on("end", () => resolve(data));
    }).on("error", reject);
  });
  process.stdout.write("http: " + body);
  server.close();
  console.log("Hello from Node.js", process.version.split(".")[0]);
}

main();
