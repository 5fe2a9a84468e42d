//! The courier of the file-drop transport tests (`examples/file-transport`): what a person
//! with a USB stick does, as a thread.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use cmp_core::transport::Transport;
use cmp_transport_http::HttpTransport;

/// Moves each `NAME.req.der` in `dir` to the CA at `url` over HTTP and writes the answer as
/// `NAME.rsp.der` (a temporary name, then a rename), until `stop` is set. Returns the names
/// carried, in order.
pub fn courier(dir: PathBuf, url: String, stop: Arc<AtomicBool>) -> Vec<String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let http = HttpTransport::builder(&url)
        .no_proxy()
        .message_timeout(Duration::from_secs(10))
        .build()
        .expect("http transport");
    let mut carried = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .expect("read the spool")
            .flatten()
            .filter_map(|e| {
                e.file_name()
                    .to_str()?
                    .strip_suffix(".req.der")
                    .map(str::to_owned)
            })
            .collect();
        names.sort();
        for name in names {
            let req_path = dir.join(format!("{name}.req.der"));
            let request = std::fs::read(&req_path).expect("read request");
            std::fs::remove_file(&req_path).expect("take the request");
            let response = rt
                .block_on(http.exchange(&request, None))
                .expect("the mock answers");
            let tmp = dir.join(format!("{name}.rsp.partial"));
            std::fs::write(&tmp, response).expect("write");
            std::fs::rename(&tmp, dir.join(format!("{name}.rsp.der"))).expect("rename");
            carried.push(name);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    carried
}
