//! `occlum-gcc`, and `occlum-g++` when called by that name (a link to
//! `occlum-gcc`): see `wrapper.rs`.

mod wrapper;

fn main() {
    let called = std::env::args_os().next().unwrap_or_default();
    let name = std::path::Path::new(&called)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let lang = if name.ends_with("g++") || name.ends_with("c++") {
        wrapper::Lang::Cxx
    } else {
        wrapper::Lang::C
    };
    std::process::exit(wrapper::main(lang));
}
