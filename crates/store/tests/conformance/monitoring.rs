//! Monitoring: window states (optimistic revs) and accepted records.

use super::*;
use riskops_core::monitoring::{IngestWrite, StoredRecord, StoredWindow, WindowSpec, WindowWrite};

/// The hour windows these tests write to: `hour(n)` starts n hours after T0.
pub(super) fn hour(n: i64) -> i64 {
    WindowSpec::Hour.window_of(T0.unix_timestamp()).0 + n * 3600
}

pub(super) fn window(version: u32, start: i64, state: &[u8], records: u64, expected_rev: Option<i64>) -> WindowWrite {
    WindowWrite { version, start, end: start + 3600, state: state.to_vec(), records, labelled: 0, expected_rev }
}

fn record(id: &str, version: u32, window_start: i64, score: Option<f64>) -> StoredRecord {
    StoredRecord {
        id: id.into(),
        version,
        window_start,
        prediction: format!("{{\"label\":\"{id}\"}}"),
        score,
        attributes: "{\"region\":\"eu\"}".into(),
        labelled: false,
    }
}

fn ingest(windows: Vec<WindowWrite>, new_records: Vec<StoredRecord>, labelled: &[&str]) -> IngestWrite {
    IngestWrite {
        model: "fraud".into(),
        windows,
        new_records,
        labelled: labelled.iter().map(|s| s.to_string()).collect(),
        ..IngestWrite::default()
    }
}

fn ids(ids: &[&str]) -> Vec<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

async fn all_windows(store: &Arc<dyn Store>) -> Vec<StoredWindow> {
    store.windows("fraud", None, i64::MIN, i64::MAX).await.unwrap()
}

#[tokio::test]
async fn monitoring_windows_are_written_once_and_then_only_at_their_rev() {
    for b in backends().await {
        let store = &b.store;
        let kind = store.kind();
        let permit = admin_permit(store).await;
        let mut chain = Chain::new(store).await;
        let commit = |w: IngestWrite| store.commit_ingest(w, audit(&permit, "predictions.ingest", "model:fraud"), T0);

        commit(ingest(vec![window(1, hour(0), b"s1", 2, None)], vec![record("r1", 1, hour(0), Some(0.5))], &[]))
            .await
            .unwrap();
        chain.one("predictions.ingest").await;
        let first = StoredWindow {
            version: 1,
            start: hour(0),
            end: hour(1),
            state: b"s1".to_vec(),
            records: 2,
            labelled: 0,
            rev: 1,
        };
        assert_eq!(all_windows(store).await, std::slice::from_ref(&first), "{kind:?}");

        // A second "new" write of the same window refuses the whole batch: the other
        // (new) window and the records in it are not kept either.
        let again = commit(ingest(
            vec![window(1, hour(1), b"other", 1, None), window(1, hour(0), b"s1-again", 1, None)],
            vec![record("r9", 1, hour(1), None)],
            &[],
        ))
        .await
        .unwrap_err();
        assert_eq!(again.kind, ErrorKind::Conflict, "{kind:?}: {again:?}");
        chain.none().await;
        assert_eq!(all_windows(store).await, std::slice::from_ref(&first), "{kind:?}");
        assert!(store.known_records("fraud", &ids(&["r9"])).await.unwrap().is_empty(), "{kind:?}");

        // At the rev read, the state is replaced, the counts added and the rev bumped.
        commit(ingest(vec![window(1, hour(0), b"s2", 3, Some(1))], vec![], &[])).await.unwrap();
        chain.one("predictions.ingest").await;
        let second = StoredWindow { state: b"s2".to_vec(), records: 5, rev: 2, ..first.clone() };
        assert_eq!(all_windows(store).await, std::slice::from_ref(&second), "{kind:?}");

        // A stale rev (or one for a window that was never written) changes nothing.
        for stale in [window(1, hour(0), b"stale", 1, Some(1)), window(1, hour(5), b"never", 1, Some(1))] {
            let err = commit(ingest(vec![stale], vec![record("r8", 1, hour(0), None)], &[])).await.unwrap_err();
            assert_eq!(err.kind, ErrorKind::Conflict, "{kind:?}: {err:?}");
        }
        chain.none().await;
        assert_eq!(all_windows(store).await, std::slice::from_ref(&second), "{kind:?}");
        assert!(store.known_records("fraud", &ids(&["r8"])).await.unwrap().is_empty(), "{kind:?}");

        // Filters: by version, by [from, to) on the start, oldest first.
        commit(ingest(
            vec![
                window(2, hour(3), b"v2-h3", 1, None),
                window(1, hour(2), b"v1-h2", 1, None),
                window(2, hour(0), b"v2-h0", 1, None),
            ],
            vec![],
            &[],
        ))
        .await
        .unwrap();
        chain.one("predictions.ingest").await;
        let starts = |ws: Vec<StoredWindow>| ws.into_iter().map(|w| (w.version, w.start)).collect::<Vec<_>>();
        assert_eq!(
            starts(all_windows(store).await),
            [(1, hour(0)), (2, hour(0)), (1, hour(2)), (2, hour(3))],
            "{kind:?}"
        );
        let v2 = store.windows("fraud", Some(2), i64::MIN, i64::MAX).await.unwrap();
        assert_eq!(starts(v2), [(2, hour(0)), (2, hour(3))], "{kind:?}");
        let v1 = store.windows("fraud", Some(1), hour(0), hour(2)).await.unwrap();
        assert_eq!(v1, [second], "{kind:?}: to is exclusive");
        let middle = store.windows("fraud", None, hour(1), hour(4)).await.unwrap();
        assert_eq!(starts(middle), [(1, hour(2)), (2, hour(3))], "{kind:?}");
        assert!(store.windows("fraud", Some(3), i64::MIN, i64::MAX).await.unwrap().is_empty());
        assert!(store.windows("other", None, i64::MIN, i64::MAX).await.unwrap().is_empty());
        chain.verify().await;
    }
}

#[tokio::test]
async fn monitoring_records_are_accepted_once_and_labelled_once() {
    for b in backends().await {
        let store = &b.store;
        let kind = store.kind();
        let permit = admin_permit(store).await;
        let mut chain = Chain::new(store).await;
        let commit = |w: IngestWrite| store.commit_ingest(w, audit(&permit, "predictions.ingest", "model:fraud"), T0);

        let r1 = record("r1", 1, hour(0), Some(0.25));
        let r2 = record("r2", 1, hour(0), None);
        commit(ingest(vec![window(1, hour(0), b"s1", 2, None)], vec![r1.clone(), r2.clone()], &[])).await.unwrap();
        chain.one("predictions.ingest").await;

        let mut known = store.known_records("fraud", &ids(&["r0", "r2", "r1", "r3"])).await.unwrap();
        known.sort();
        assert_eq!(known, ["r1", "r2"], "{kind:?}: the stored ones among those asked");
        // More ids than one query takes.
        let many: Vec<String> = (0..1_200).map(|i| format!("x{i}")).chain(ids(&["r2"])).collect();
        assert_eq!(store.known_records("fraud", &many).await.unwrap(), ["r2"], "{kind:?}");
        assert!(store.known_records("fraud", &[]).await.unwrap().is_empty());
        assert!(store.known_records("other", &ids(&["r1"])).await.unwrap().is_empty(), "{kind:?}");
        assert_eq!(store.records("fraud", &ids(&["r1", "r3", "r2"])).await.unwrap(), [r1.clone(), r2.clone()]);

        // An id accepted before refuses the batch, window write included.
        let dup = commit(ingest(
            vec![window(1, hour(0), b"s2", 2, Some(1))],
            vec![record("r3", 1, hour(0), None), record("r1", 1, hour(0), Some(0.9))],
            &[],
        ))
        .await
        .unwrap_err();
        assert_eq!(dup.kind, ErrorKind::Conflict, "{kind:?}: {dup:?}");
        chain.none().await;
        assert_eq!(all_windows(store).await[0].rev, 1, "{kind:?}");
        assert_eq!(store.records("fraud", &ids(&["r1", "r3"])).await.unwrap(), std::slice::from_ref(&r1), "{kind:?}");

        // A label marks its record once, with the window's count.
        let labelling = WindowWrite { labelled: 1, ..window(1, hour(0), b"s2", 0, Some(1)) };
        commit(ingest(vec![labelling], vec![], &["r1"])).await.unwrap();
        chain.one("predictions.ingest").await;
        let labelled = store.records("fraud", &ids(&["r1", "r2"])).await.unwrap();
        assert_eq!(labelled, [StoredRecord { labelled: true, ..r1.clone() }, r2.clone()], "{kind:?}");
        let w = &all_windows(store).await[0];
        assert_eq!((w.records, w.labelled, w.rev), (2, 1, 2), "{kind:?}");

        // Labelling it again, or an id never accepted, is a conflict and rolls back the rest.
        for ids_ in [&["r2", "r1"][..], &["r2", "nope"][..]] {
            let relabel = WindowWrite { labelled: 2, ..window(1, hour(0), b"s3", 0, Some(2)) };
            let err = commit(ingest(vec![relabel], vec![], ids_)).await.unwrap_err();
            assert_eq!(err.kind, ErrorKind::Conflict, "{kind:?}: {err:?}");
        }
        chain.none().await;
        assert_eq!(store.records("fraud", &ids(&["r2"])).await.unwrap(), [r2], "{kind:?}: r2 not labelled");
        let w = &all_windows(store).await[0];
        assert_eq!((w.state.as_slice(), w.labelled, w.rev), (&b"s2"[..], 1, 2), "{kind:?}");
        chain.verify().await;
    }
}

#[tokio::test]
async fn chart_values_are_listed_with_their_windows_only_at_the_windows_revision() {
    use riskops_core::monitoring::SeriesRow;
    for b in backends().await {
        let store = &b.store;
        let permit = admin_permit(store).await;
        let commit = |w: IngestWrite| store.commit_ingest(w, audit(&permit, "predictions.ingest", "model:fraud"), T0);
        commit(ingest(vec![window(1, hour(0), b"s1", 2, None), window(2, hour(1), b"s2", 3, None)], vec![], &[]))
            .await
            .unwrap();
        let row = |version, start, rev, point: Option<&str>| SeriesRow {
            version,
            start,
            end: start + 3600,
            rev,
            point: point.map(str::to_string),
        };
        // Listed without values until they are stored; a range leaves out what is outside it.
        assert_eq!(
            store.series("fraud", hour(0), hour(2)).await.unwrap(),
            [row(1, hour(0), 1, None), row(2, hour(1), 1, None)]
        );
        assert_eq!(store.series("fraud", hour(1), hour(2)).await.unwrap(), [row(2, hour(1), 1, None)]);
        store.put_series("fraud", &[row(1, hour(0), 1, Some("{\"a\":1}"))]).await.unwrap();
        assert_eq!(store.series("fraud", hour(0), hour(1)).await.unwrap(), [row(1, hour(0), 1, Some("{\"a\":1}"))]);
        // The window changes: its stored values are stale and no longer listed, until replaced.
        commit(ingest(vec![window(1, hour(0), b"s1b", 1, Some(1))], vec![], &[])).await.unwrap();
        assert_eq!(store.series("fraud", hour(0), hour(1)).await.unwrap(), [row(1, hour(0), 2, None)]);
        store.put_series("fraud", &[row(1, hour(0), 2, Some("{\"a\":2}"))]).await.unwrap();
        assert_eq!(store.series("fraud", hour(0), hour(1)).await.unwrap(), [row(1, hour(0), 2, Some("{\"a\":2}"))]);
        assert!(store.series("other", i64::MIN, i64::MAX).await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn exact_drift_is_kept_per_window_bounds_and_replaced_by_a_newer_one() {
    use riskops_core::monitoring::ExactDriftRow;
    for b in backends().await {
        let store = &b.store;
        let row = |start: i64, end: i64, records: u64, drift: &str| ExactDriftRow {
            model: "fraud".into(),
            version: 2,
            start,
            end,
            records,
            computed_at: 1_790_000_000 + records as i64,
            drift: drift.into(),
        };
        assert_eq!(store.exact_drift("fraud", 2, hour(0), hour(1)).await.unwrap(), None);
        store.put_exact_drift(&row(hour(0), hour(1), 10, "{\"hour\":1}")).await.unwrap();
        // A day rolled up over the same start is another entry.
        store.put_exact_drift(&row(hour(0), hour(24), 30, "{\"day\":1}")).await.unwrap();
        store.put_exact_drift(&row(hour(0), hour(1), 12, "{\"hour\":2}")).await.unwrap();
        assert_eq!(
            store.exact_drift("fraud", 2, hour(0), hour(1)).await.unwrap(),
            Some(row(hour(0), hour(1), 12, "{\"hour\":2}"))
        );
        assert_eq!(
            store.exact_drift("fraud", 2, hour(0), hour(24)).await.unwrap(),
            Some(row(hour(0), hour(24), 30, "{\"day\":1}"))
        );
        assert_eq!(store.exact_drift("fraud", 1, hour(0), hour(1)).await.unwrap(), None, "another version's");
    }
}

#[tokio::test]
async fn window_estimates_are_kept_per_window_bounds_and_replaced_by_newer_ones() {
    use riskops_core::monitoring::WindowEstimatesRow;
    for b in backends().await {
        let store = &b.store;
        let row = |start: i64, end: i64, records: u64, estimates: &str| WindowEstimatesRow {
            model: "fraud".into(),
            version: 2,
            start,
            end,
            records,
            computed_at: 1_790_000_000 + records as i64,
            estimates: estimates.into(),
        };
        assert_eq!(store.window_estimates("fraud", 2, hour(0), hour(1)).await.unwrap(), None);
        store.put_window_estimates(&row(hour(0), hour(1), 10, "{\"hour\":1}")).await.unwrap();
        store.put_window_estimates(&row(hour(0), hour(24), 30, "{\"day\":1}")).await.unwrap();
        store.put_window_estimates(&row(hour(0), hour(1), 12, "{\"hour\":2}")).await.unwrap();
        assert_eq!(
            store.window_estimates("fraud", 2, hour(0), hour(1)).await.unwrap(),
            Some(row(hour(0), hour(1), 12, "{\"hour\":2}"))
        );
        assert_eq!(
            store.window_estimates("fraud", 2, hour(0), hour(24)).await.unwrap(),
            Some(row(hour(0), hour(24), 30, "{\"day\":1}"))
        );
        assert_eq!(store.window_estimates("fraud", 1, hour(0), hour(1)).await.unwrap(), None, "another version's");
        // Separate from exact drift.
        assert_eq!(store.exact_drift("fraud", 2, hour(0), hour(1)).await.unwrap(), None);
    }
}

/// Batch-sized writes (the sizes a sender uses): every column of thousands of records comes
/// back as written, and one bad row anywhere (a stored id, an id twice in the batch, a
/// refused id counted before, a label given before) refuses the whole batch: no record,
/// refused id, label or window of it is kept.
#[tokio::test]
async fn a_large_batch_is_kept_whole_or_not_at_all() {
    const N: usize = 5_000;
    for b in backends().await {
        let store = &b.store;
        let kind = store.kind();
        let permit = admin_permit(store).await;
        let mut chain = Chain::new(store).await;
        let commit = |w: IngestWrite| store.commit_ingest(w, audit(&permit, "predictions.ingest", "model:fraud"), T0);
        let batch = |prefix: &str, version: u32| -> Vec<StoredRecord> {
            (0..N)
                .map(|i| StoredRecord {
                    // Text that needs no escaping in one format may in another.
                    attributes: format!("{{\"region\":\"e\\tu \\\"{i}\\\"\"}}"),
                    labelled: i % 3 == 0,
                    ..record(
                        &format!("{prefix}{i}"),
                        version,
                        hour(i as i64 % 2),
                        (i % 4 != 0).then_some(i as f64 / 7.0),
                    )
                })
                .collect()
        };
        let with_refused = |records: Vec<StoredRecord>, refused: &[&str], windows: Vec<WindowWrite>| IngestWrite {
            refused: ids(refused),
            ..ingest(windows, records, &[])
        };
        let first = batch("a", 1);
        commit(with_refused(first.clone(), &["bad1"], vec![window(1, hour(0), b"s1", N as u64, None)])).await.unwrap();
        chain.one("predictions.ingest").await;
        let all_ids: Vec<String> = first.iter().map(|r| r.id.clone()).collect();
        assert_eq!(store.records("fraud", &all_ids).await.unwrap(), first, "{kind:?}: every column as written");
        assert_eq!(store.known_refused("fraud", &ids(&["bad1", "bad2"])).await.unwrap(), ["bad1"], "{kind:?}");

        // Each way a batch of new records can go wrong, at its first row or its last.
        let mut resent = batch("b", 1);
        resent.insert(0, first[N - 1].clone());
        let mut twice = batch("c", 1);
        twice.push(twice[0].clone());
        let refused_again = with_refused(batch("d", 1), &["bad2", "bad1"], vec![window(1, hour(5), b"x", 1, None)]);
        let labelled_again = IngestWrite { labelled: ids(&["a1", "a0"]), ..ingest(vec![], batch("e", 1), &[]) };
        let failing = [
            with_refused(resent, &["bad3"], vec![window(1, hour(5), b"x", 1, None)]),
            with_refused(twice, &["bad3"], vec![window(1, hour(5), b"x", 1, None)]),
            refused_again,
            labelled_again,
        ];
        for (case, write) in failing.into_iter().enumerate() {
            let err = commit(write).await.unwrap_err();
            assert_eq!(err.kind, ErrorKind::Conflict, "{kind:?} case {case}: {err:?}");
        }
        chain.none().await;
        for prefix in ["b", "c", "d", "e"] {
            let asked: Vec<String> = (0..N).map(|i| format!("{prefix}{i}")).collect();
            assert!(store.known_records("fraud", &asked).await.unwrap().is_empty(), "{kind:?}: {prefix} kept");
        }
        assert_eq!(store.known_refused("fraud", &ids(&["bad2", "bad3"])).await.unwrap(), Vec::<String>::new());
        assert_eq!(all_windows(store).await.len(), 1, "{kind:?}: no window of a refused batch");
        assert!(!store.records("fraud", &ids(&["a1"])).await.unwrap()[0].labelled, "{kind:?}");

        // Thousands of labels at once, each once.
        let unlabelled: Vec<String> = first.iter().filter(|r| !r.labelled).map(|r| r.id.clone()).collect();
        let labelling = WindowWrite { labelled: unlabelled.len() as u64, ..window(1, hour(0), b"s2", 0, Some(1)) };
        commit(IngestWrite { labelled: unlabelled, ..ingest(vec![labelling], vec![], &[]) }).await.unwrap();
        chain.one("predictions.ingest").await;
        let stored = store.records("fraud", &all_ids).await.unwrap();
        assert!(stored.iter().all(|r| r.labelled), "{kind:?}");
        chain.verify().await;
    }
}
