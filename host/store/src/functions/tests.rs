use std::collections::BTreeMap;

use super::*;
use crate::StoreError;
use crate::store::{Store, StoreOptions};

fn open() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
    (dir, store)
}

fn spec(name: &str) -> FunctionSpec {
    FunctionSpec {
        name: name.to_string(),
        description: "test".into(),
        timeout_secs: limits::DEFAULT_TIMEOUT_SECS,
        memory_mib: limits::DEFAULT_MEMORY_MIB,
        fuel: 1000,
        grants: vec!["read:table/T".into()],
        env: BTreeMap::new(),
        role: None,
    }
}

#[test]
fn a_new_directory_has_the_labs_two_roles() {
    let (_dir, store) = open();
    let roles = list_roles(&store).unwrap();
    let names: Vec<&str> = roles.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, [BASIC_EXECUTION, BASIC_EXECUTION_DYNAMODB]);
    assert!(roles[0].grants.is_empty());
    assert_eq!(roles[1].grants, ["read:table/*", "write:table/*"]);
}

#[test]
fn roles_survive_a_reopen_and_names_are_unique() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
        create_role(&store, "writer", vec!["write:table/T".into()]).unwrap();
        let again = create_role(&store, "writer", vec![]);
        assert!(matches!(again, Err(StoreError::ResourceInUse(_))));
    }
    let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
    assert_eq!(
        get_role(&store, "writer").unwrap().grants,
        ["write:table/T"]
    );
    assert_eq!(list_roles(&store).unwrap().len(), 3);
    assert!(matches!(
        get_role(&store, "nope"),
        Err(StoreError::ResourceNotFound(_))
    ));
}

#[test]
fn create_then_update_keeps_every_version() {
    let (_dir, store) = open();
    let created = create_function(&store, spec("f"), b"one".to_vec()).unwrap();
    assert_eq!(created.versions.len(), 1);
    let updated = update_function_code(&store, "f", b"two".to_vec()).unwrap();
    let versions: Vec<u32> = updated.versions.iter().map(|v| v.version).collect();
    assert_eq!(versions, [1, 2]);
    let (_, v1, code1) = function_code(&store, "f", Some(1)).unwrap();
    assert_eq!((v1.version, code1.as_slice()), (1, b"one".as_slice()));
    let (_, latest, code) = function_code(&store, "f", None).unwrap();
    assert_eq!((latest.version, code.as_slice()), (2, b"two".as_slice()));
    assert_eq!(latest.code_hash, code_sha256(b"two"));
    assert!(matches!(
        function_code(&store, "f", Some(3)),
        Err(StoreError::ResourceNotFound(m)) if m.ends_with("function:f:3")
    ));
}

#[test]
fn names_are_unique_and_roles_must_exist() {
    let (_dir, store) = open();
    create_function(&store, spec("f"), b"x".to_vec()).unwrap();
    let again = create_function(&store, spec("f"), b"x".to_vec());
    assert!(matches!(again, Err(StoreError::ResourceInUse(m)) if m == "Function already exist: f"));
    let mut with_role = spec("g");
    with_role.role = Some("missing".into());
    let refused = create_function(&store, with_role, b"x".to_vec());
    assert!(matches!(refused, Err(StoreError::ResourceNotFound(_))));
    assert!(matches!(
        get_function(&store, "g"),
        Err(StoreError::ResourceNotFound(_))
    ));
}

#[test]
fn bad_settings_are_refused_together() {
    let (_dir, store) = open();
    let mut bad = spec("bad name");
    bad.timeout_secs = 0;
    bad.memory_mib = 64;
    bad.env.insert("1X".into(), "v".into());
    let Err(StoreError::Validation(message)) = create_function(&store, bad, b"x".to_vec()) else {
        panic!("expected a validation error");
    };
    assert!(
        message.starts_with("4 validation errors detected"),
        "{message}"
    );
    assert!(list_functions(&store).unwrap().is_empty());
}

#[test]
fn shared_code_is_stored_once_and_freed_with_its_last_user() {
    let (_dir, store) = open();
    create_function(&store, spec("a"), b"same".to_vec()).unwrap();
    create_function(&store, spec("b"), b"same".to_vec()).unwrap();
    delete_function(&store, "a").unwrap();
    let (_, _, code) = function_code(&store, "b", None).unwrap();
    assert_eq!(code, b"same");
    delete_function(&store, "b").unwrap();
    assert!(list_functions(&store).unwrap().is_empty());
    let txn = store.read().unwrap();
    let blobs = txn.open_table(crate::schema::FUNCTION_CODE).unwrap();
    use redb::ReadableTableMetadata;
    assert_eq!(blobs.len().unwrap(), 0);
    assert!(matches!(
        delete_function(&store, "b"),
        Err(StoreError::ResourceNotFound(_))
    ));
}
