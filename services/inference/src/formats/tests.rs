use super::*;

/// A zip archive of empty stored entries named `names`, as `zip` writes one.
fn zip(names: &[&str]) -> Vec<u8> {
    let mut file = Vec::new();
    let mut directory = Vec::new();
    for name in names {
        let offset = u32::try_from(file.len()).expect("small");
        let length = u16::try_from(name.len()).expect("short");
        file.extend_from_slice(&[0x50, 0x4b, 0x03, 0x04]);
        file.extend_from_slice(&[0; 22]);
        file.extend_from_slice(&length.to_le_bytes());
        file.extend_from_slice(&0u16.to_le_bytes());
        file.extend_from_slice(name.as_bytes());
        directory.extend_from_slice(&[0x50, 0x4b, 0x01, 0x02]);
        directory.extend_from_slice(&[0; 24]);
        directory.extend_from_slice(&length.to_le_bytes());
        directory.extend_from_slice(&[0; 12]);
        directory.extend_from_slice(&offset.to_le_bytes());
        directory.extend_from_slice(name.as_bytes());
    }
    let directory_offset = u32::try_from(file.len()).expect("small");
    let directory_size = u32::try_from(directory.len()).expect("small");
    let count = u16::try_from(names.len()).expect("few");
    file.extend_from_slice(&directory);
    file.extend_from_slice(&[0x50, 0x4b, 0x05, 0x06, 0, 0, 0, 0]);
    file.extend_from_slice(&count.to_le_bytes());
    file.extend_from_slice(&count.to_le_bytes());
    file.extend_from_slice(&directory_size.to_le_bytes());
    file.extend_from_slice(&directory_offset.to_le_bytes());
    file.extend_from_slice(&0u16.to_le_bytes());
    file
}

/// Detects `file` as the upload path does: its head, and for a zip its directory.
fn detect_file(file: &[u8]) -> Option<Format> {
    let head = &file[..file.len().min(HEAD_BYTES)];
    if !is_zip(head) {
        return detect(head, None);
    }
    let size = u64::try_from(file.len()).expect("small");
    let tail_start = usize::try_from(size.saturating_sub(zip::TAIL_BYTES)).expect("small");
    let (offset, length) = ZipEntries::locate(&file[tail_start..], size)?;
    let (offset, length) = (
        usize::try_from(offset).expect("small"),
        usize::try_from(length).expect("small"),
    );
    let entries = ZipEntries::parse(&file[offset..offset + length])?;
    detect(head, Some(&entries))
}

#[test]
fn each_format_is_told_from_its_bytes() {
    let mut safetensors = 14u64.to_le_bytes().to_vec();
    safetensors.extend_from_slice(b"{\"a\":{}}      ");
    let cases: Vec<(Vec<u8>, Format)> = vec![
        (b"\x08\x07\x12\x04test".to_vec(), Format::Onnx),
        (
            zip(&["archive/data.pkl", "archive/data/0", "archive/version"]),
            Format::PyTorch,
        ),
        (
            zip(&["model/constants.pkl", "model/code/__torch__.py", "model/data.pkl"]),
            Format::TorchScript,
        ),
        (safetensors, Format::Safetensors),
        (
            b"\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00\x8c\x08builtins".to_vec(),
            Format::Pickle,
        ),
        (
            b"\x80\x04\x95\x10\x00joblib.numpy_pickle NumpyArrayWrapper".to_vec(),
            Format::Joblib,
        ),
        (b"\x78\x9c\x6b\x60\x99\x2a".to_vec(), Format::Joblib),
        (zip(&["schema.json", "123.npy"]), Format::Skops),
        (
            zip(&[
                "saved_model/saved_model.pb",
                "saved_model/variables/variables.index",
            ]),
            Format::TfSavedModel,
        ),
        (
            zip(&["metadata.json", "config.json", "model.weights.h5"]),
            Format::Keras,
        ),
        (b"\x89HDF\r\n\x1a\n\x00\x00".to_vec(), Format::Hdf5),
        (b"\x1c\x00\x00\x00TFL3\x14\x00".to_vec(), Format::TfLite),
        (b"GGUF\x03\x00\x00\x00".to_vec(), Format::Gguf),
        (
            b"<?xml version=\"1.0\"?>\n<PMML version=\"4.4\">".to_vec(),
            Format::Pmml,
        ),
        (
            b"{\"learner\": {\"attributes\": {}}, \"version\": [2, 1, 0]}".to_vec(),
            Format::Xgboost,
        ),
        (b"tree\nversion=v4\nnum_class=1\n".to_vec(), Format::LightGbm),
    ];
    for (file, format) in cases {
        assert_eq!(detect_file(&file), Some(format), "{format:?}");
    }
}

#[test]
fn only_onnx_is_served_and_every_refusal_says_what_to_upload_instead() {
    for format in Format::ALL {
        match format.verdict() {
            Verdict::Served(runtime) => assert_eq!((format, runtime), (Format::Onnx, "onnx")),
            Verdict::Refused { why, instead } => {
                assert!(!why.is_empty() && instead.len() > 20, "{format:?}");
            }
        }
        assert_eq!(Format::parse(format.name()), Some(format));
    }
    assert_eq!(Format::parse("sklearn"), Some(Format::Pickle));
    assert_eq!(Format::parse("PyTorch"), Some(Format::PyTorch));
    assert_eq!(Format::parse("word"), None);
}

#[test]
fn unknown_bytes_and_broken_zips_are_no_format() {
    assert_eq!(detect_file(b"hello, this is a text file"), None);
    assert_eq!(detect_file(&zip(&["readme.txt"])), None);
    let whole = zip(&["archive/data.pkl"]);
    assert_eq!(
        detect_file(&whole[..whole.len() - 10]),
        None,
        "a truncated zip has no directory"
    );
}
