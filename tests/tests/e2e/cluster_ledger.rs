//! Budgets sharded across three nodes in one process: the limit holds exactly whichever
//! node a call lands on, the owners' books equal the audit logs, and an owner leaving
//! loses no settled spend. Each call of `ask` costs exactly 10,000 nanos.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use switchboard_ledger::{
    Clock, GrantRequest, LedgerSnapshot, Metric, Quota, QuotaId, Scope, Settled, Settlement,
    SystemClock, Window,
};
use switchboard_server::shard::rpc::{self, RpcRequest, RpcResponse};
use switchboard_server::shard::store::SnapshotStore;
use switchboard_tests::cluster::{ClusterHarness, SECRET, SkewedClock, tenant};

fn ask() -> Value {
    json!({"model": "metered", "max_tokens": 10, "messages": [{"role": "user", "content": "spend across the cluster"}]})
}

fn money(name: &str, window: Window) -> Quota {
    Quota::new(
        QuotaId::new(Scope::Tenant(name.into()), Metric::Money, window),
        0,
    )
}

/// Every audit record of `tenant` on `nodes`, waiting (bounded) until there are `count`:
/// records are appended after the response ends.
async fn audited(c: &ClusterHarness, nodes: &[usize], tenant: &str, count: usize) -> Vec<i64> {
    for _ in 0..250 {
        let mut costs = Vec::new();
        for &i in nodes {
            let gw = &c.nodes[i].server.gateway;
            gw.audit.flush().await.expect("audit flush");
            switchboard_audit::scan(
                &gw.config.audit_dir(),
                &Default::default(),
                |r: switchboard_audit::AuditRecord| {
                    if r.tenant == tenant {
                        costs.push(r.cost_nanos)
                    }
                },
            )
            .expect("audit scan");
        }
        if costs.len() >= count {
            return costs;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("fewer than {count} audit records of {tenant}");
}

/// Applies every node's pending settlements at the owners (a node sends its own in
/// paced rounds; a status or report flushes only the node it is asked of).
async fn settle_everywhere(c: &ClusterHarness) {
    for node in &c.nodes {
        node.server
            .gateway
            .flush_settlements()
            .await
            .expect("settlements applied");
    }
}

/// How many of `calls` calls with `key`, sent in turn to each node, were admitted; every
/// other answer must be a 429.
async fn admitted(c: &ClusterHarness, key: &str, calls: usize) -> usize {
    let mut ok = 0;
    for i in 0..calls {
        let r = c.post(i % 3, "/v1/chat/completions", key, ask()).await;
        match r.status.as_u16() {
            200 => ok += 1,
            429 => {}
            other => panic!("unexpected {other}: {}", r.text()),
        }
    }
    ok
}

/// `rounds` rounds of one call on each node with `key`, every one answered 200.
async fn call_every_node(c: &ClusterHarness, key: &str, rounds: usize) {
    for round in 0..rounds {
        for node in 0..c.nodes.len() {
            let r = c.post(node, "/v1/chat/completions", key, ask()).await;
            assert_eq!(r.status, 200, "round {round} node {node}: {}", r.text());
        }
    }
}

/// The index of the node named `name`.
fn index_of(c: &ClusterHarness, name: &str) -> usize {
    c.nodes
        .iter()
        .position(|n| n.server.gateway.config.server.node_name == name)
        .expect("node by name")
}

/// The names of `quota`'s owner and backup, by node 0's view.
fn owner_and_backup(c: &ClusterHarness, quota: &QuotaId) -> (String, String) {
    let (owner, backup) = c.nodes[0]
        .server
        .gateway
        .owners
        .placement(quota)
        .expect("clustered");
    (owner, backup.expect("three nodes: there is a backup"))
}

/// The value of `series` (a name with its labels) in a scrape (0 if absent).
/// The wall clock, as the nodes read it.
fn now_ms() -> u64 {
    SystemClock.now_ms()
}

/// The response in a node's signed answer.
fn answer_of(body: &[u8]) -> Result<RpcResponse, String> {
    rpc::decode::<rpc::Answer>(body).map(|a| a.response)
}

/// `req` sent to `node` signed with the cluster secret, due now; the response in its
/// signed answer.
async fn signed(c: &ClusterHarness, node: usize, req: &RpcRequest) -> RpcResponse {
    let answer = c
        .rpc_raw(
            node,
            rpc::encode(&rpc::Call::due(req, now_ms())),
            Some(SECRET.as_bytes()),
        )
        .await;
    assert_eq!(answer.status, 200);
    answer_of(&answer.body).expect("a signed answer")
}

fn counter(scrape: &str, series: &str) -> f64 {
    let prefix = format!("{series} ");
    scrape
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0)
}

/// `switchboard_cluster_rpc_served_total{kind}` in a scrape (0 if absent).
fn served(scrape: &str, kind: &str) -> f64 {
    counter(
        scrape,
        &format!("switchboard_cluster_rpc_served_total{{kind=\"{kind}\"}}"),
    )
}

/// With every settlement applied, each node reads the owner's book of `tenant`'s total
/// money quota: `audited` spent, nothing left (the budget was used up).
async fn every_node_reads_the_book(c: &ClusterHarness, tenant: &str, audited: i64) {
    settle_everywhere(c).await;
    for (i, node) in c.nodes.iter().enumerate() {
        let status = node
            .server
            .gateway
            .quota_status(&money(tenant, Window::Total))
            .await
            .expect("status");
        assert_eq!(
            status.spent, audited,
            "node {i} reads the owner's book, equal to the audit logs"
        );
        assert_eq!(status.available, 0, "node {i}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_budget_admits_exactly_what_it_covers_whichever_node_calls_land_on() {
    // 50,000 nanos, 10,000 a call: five calls in the whole cluster, not five per node.
    let c = Arc::new(ClusterHarness::start(3, &tenant("shared", "0.00005", "total")).await);
    let mut tasks = Vec::new();
    for i in 0..60 {
        let c = Arc::clone(&c);
        tasks.push(tokio::spawn(async move {
            c.post(i % 3, "/v1/chat/completions", "sk-shared-0001", ask())
                .await
        }));
    }
    let mut ok = 0;
    for t in tasks {
        let r = t.await.expect("task");
        match r.status.as_u16() {
            200 => ok += 1,
            429 => assert_eq!(
                r.header("x-switchboard-quota"),
                Some("tenant:shared/money/total"),
                "{}",
                r.text()
            ),
            other => panic!("unexpected {other}: {}", r.text()),
        }
    }
    assert_eq!(ok, 5, "exactly the calls the budget covers succeed");
    assert_eq!(c.mock.calls_for_model("mock-metered"), 5);
    let costs = audited(&c, &[0, 1, 2], "shared", 60).await;
    let audited: i64 = costs.iter().sum();
    assert_eq!(audited, 50_000);
    every_node_reads_the_book(&c, "shared", audited).await;

    // Every node names the same owner and backup; the owner holds the book.
    let views: Vec<Value> = cluster_views(&c).await;
    let quota_of = |v: &Value| {
        v["quotas"]
            .as_array()
            .unwrap()
            .iter()
            .find(|q| q["quota"] == "tenant:shared/money/total")
            .cloned()
            .expect("the quota is listed")
    };
    let owner = quota_of(&views[0])["owner"].clone();
    for (i, v) in views.iter().enumerate() {
        assert_eq!(v["live"], 3, "node {i}");
        assert_eq!(v["majority"], true);
        let members = v["members"].as_array().unwrap();
        assert_eq!(members.len(), 3);
        assert!(members.iter().all(|m| m["state"] == "up"));
        let q = quota_of(v);
        assert_eq!(q["owner"], owner, "node {i} agrees on the owner");
        if q["role"] == "owner" {
            assert_eq!(q["spent"], 50_000);
            assert!(q["epoch"].as_u64().unwrap() >= 1);
            assert_eq!(q["term_owner"], owner);
        }
        assert!(v["breakers"].as_array().is_some_and(|b| !b.is_empty()));
    }
    assert_eq!(
        views
            .iter()
            .filter(|v| quota_of(v)["role"] == "owner")
            .count(),
        1,
        "exactly one owner"
    );
    // The ledger calls served for peers are counted by kind (the nodes of this test
    // share one process, so one recorder: any node's scrape shows them all).
    let scrape = c.admin(0, "GET", "/metrics", None).await.text();
    for kind in ["grant", "settle", "replicate"] {
        let n = served(&scrape, kind);
        assert!(n >= 1.0, "{kind} served {n} times in:\n{scrape}");
    }
}

/// After the first change a backup takes, an owner sends it only what each change adds
/// (a delta of the state it last acknowledged): the backup still holds exactly the
/// owner's state, every settlement id in order; and a delta made from a state the
/// backup does not hold is answered `NeedWhole` and changes nothing there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_rebuilds_the_owners_state_from_deltas_exactly() {
    let c = ClusterHarness::start(3, &tenant("deltas", "10.00", "total")).await;
    let quota = money("deltas", Window::Total);
    for _ in 0..4 {
        call_every_node(&c, "sk-deltas-0001", 1).await;
        // Each round's settlements are changes the owner replicates.
        settle_everywhere(&c).await;
    }
    let (owner, backup) = owner_and_backup(&c, &quota.id);
    let (owner, backup) = (index_of(&c, &owner), index_of(&c, &backup));
    let held = async |node: usize| {
        c.nodes[node]
            .server
            .gateway
            .owners
            .held(&quota.id)
            .await
            .expect("the quota is held")
            .1
    };
    let at_owner = held(owner).await;
    assert_eq!(at_owner.current.spent, 12 * 10_000);
    assert!(at_owner.current.recent_ids.len() >= 12);
    assert_eq!(
        held(backup).await,
        at_owner,
        "the backup holds the owner's state"
    );
    let scrape = c.admin(0, "GET", "/metrics", None).await.text();
    assert!(
        served(&scrape, "replicate_delta") >= 1.0,
        "changes went as deltas:\n{scrape}"
    );

    // A delta of a state the backup does not hold is not applied.
    let mut delta = at_owner
        .delta_from(&at_owner)
        .expect("a state is its own base");
    delta.base.2 += 1_000;
    delta.changed.current.spent += 1;
    let stale = RpcRequest::ReplicateDelta {
        quota: Quota::new(quota.id.clone(), at_owner.limit),
        delta,
    };
    match signed(&c, backup, &stale).await {
        RpcResponse::NeedWhole => {}
        other => panic!("the backup took a delta of another state: {other:?}"),
    }
    assert_eq!(held(backup).await, at_owner, "unchanged");

    // A backup holding another state than the delta's base (here a later version, forged
    // with the cluster secret) is sent the whole state, and the change still lands.
    let ahead = RpcRequest::Replicate {
        quota: Quota::new(quota.id.clone(), at_owner.limit),
        snapshot: LedgerSnapshot {
            version: at_owner.version + 1_000,
            ..at_owner.clone()
        },
    };
    assert!(matches!(
        signed(&c, backup, &ahead).await,
        RpcResponse::Done
    ));
    let whole_after_delta = |scrape: &str| {
        counter(
            scrape,
            r#"switchboard_cluster_replications_total{as="whole_after_delta"}"#,
        )
    };
    let before = whole_after_delta(&c.admin(0, "GET", "/metrics", None).await.text());
    call_every_node(&c, "sk-deltas-0001", 1).await;
    settle_everywhere(&c).await;
    let after = whole_after_delta(&c.admin(0, "GET", "/metrics", None).await.text());
    assert!(after > before, "the owner fell back to the whole state");
    assert_eq!(held(owner).await.current.spent, 15 * 10_000);
}

/// `GET /admin/cluster` of every node.
async fn cluster_views(c: &ClusterHarness) -> Vec<Value> {
    let mut out = Vec::new();
    for i in 0..c.nodes.len() {
        let r = c.admin(i, "GET", "/admin/cluster", None).await;
        assert_eq!(r.status, 200, "{}", r.text());
        out.push(r.json());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_a_quota_owner_leaves_its_backup_carries_on_without_losing_spend() {
    // 1,000,000 nanos: a hundred calls in all, before and after the owner leaves.
    let mut c = ClusterHarness::start(3, &tenant("steady", "0.001", "day")).await;
    let quota = money("steady", Window::Day);
    let (owner, backup) = owner_and_backup(&c, &quota.id);
    call_every_node(&c, "sk-steady-0001", 6).await;
    let before = audited(&c, &[0, 1, 2], "steady", 18).await;
    assert_eq!(before.iter().sum::<i64>(), 180_000);

    // Every node's reports applied: the owner's book holds all 18 calls as it leaves.
    settle_everywhere(&c).await;
    let gone = c.nodes.remove(index_of(&c, &owner));
    let gone_log = gone.server.gateway.config.audit_dir();
    let gone_ledger = gone.server.gateway.config.server.data_dir.join("ledger");
    gone.server.shutdown().await;
    // Its snapshot files (written behind memory) are complete once it has stopped.
    let on_disk = SnapshotStore::open(&gone_ledger)
        .get(&quota.id)
        .expect("the departed owner's file holds the quota");
    assert_eq!(on_disk.1.current.spent, 180_000, "its last book is on disk");
    c.wait_for(Duration::from_secs(10), |c| {
        c.nodes.iter().all(|n| n.members() == 2)
    })
    .await;
    let now_owner = c.nodes[0]
        .server
        .gateway
        .owners
        .placement(&quota.id)
        .expect("clustered")
        .0;
    assert_eq!(now_owner, backup, "the backup owns the quota now");

    let status = c.nodes[0]
        .server
        .gateway
        .quota_status(&quota)
        .await
        .expect("status");
    assert_eq!(status.spent, 180_000, "no settled spend was lost");

    let mut more = 0;
    for call in 0..200 {
        let r = c
            .post(call % 2, "/v1/chat/completions", "sk-steady-0001", ask())
            .await;
        if r.status == 429 {
            break;
        }
        assert_eq!(r.status, 200, "{}", r.text());
        more += 1;
    }
    assert_eq!(more, 82, "the budget still admits exactly what it covers");
    let mut costs = audited(&c, &[0, 1], "steady", 12 + 83).await;
    switchboard_audit::scan(&gone_log, &Default::default(), |r| {
        if r.tenant == "steady" {
            costs.push(r.cost_nanos)
        }
    })
    .expect("scan the departed node's log");
    assert_eq!(costs.iter().sum::<i64>(), 1_000_000);
    // A status applies only its own node's pending settlements.
    settle_everywhere(&c).await;
    let status = c.nodes[1]
        .server
        .gateway
        .quota_status(&quota)
        .await
        .expect("status");
    assert_eq!(status.spent, 1_000_000);

    // The old owner's term is over: a change it sends from its epoch is fenced off by
    // the node that now backs the quota (or owns it), whatever its version.
    let (_, snapshot) = c.nodes[0]
        .server
        .gateway
        .owners
        .held(&quota.id)
        .await
        .expect("the remaining nodes hold the quota");
    assert!(snapshot.epoch >= 1, "ownership moved: a new epoch");
    let stale = RpcRequest::Replicate {
        quota: Quota::new(quota.id.clone(), 1_000_000),
        snapshot: LedgerSnapshot {
            epoch: snapshot.epoch - 1,
            term_owner: owner.clone(),
            version: snapshot.version + 1_000,
            ..snapshot.clone()
        },
    };
    for node in 0..2 {
        match signed(&c, node, &stale).await {
            RpcResponse::Failed(why) => assert!(why.contains("fenced"), "{why}"),
            other => panic!("node {node} took a stale epoch: {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_calls_must_be_signed_with_the_cluster_secret() {
    let c = ClusterHarness::start(3, &tenant("guarded", "0.001", "day")).await;
    let quota = Quota::new(money("guarded", Window::Day).id, 1_000_000);
    let grant = RpcRequest::Grant {
        quota: quota.clone(),
        node: "intruder".into(),
        request: GrantRequest {
            id: 0,
            period: Window::Day.period(now_ms()),
            want: 1_000_000,
            min: 1,
        },
    };
    let body = rpc::encode(&rpc::Call::due(&grant, now_ms()));
    assert_eq!(c.rpc_raw(0, body.clone(), None).await.status, 401);
    assert_eq!(
        c.rpc_raw(0, body.clone(), Some(b"not-the-secret"))
            .await
            .status,
        401
    );
    let garbage = c
        .rpc_raw(
            1,
            bytes::Bytes::from_static(b"\xc1garbage"),
            Some(SECRET.as_bytes()),
        )
        .await;
    match answer_of(&garbage.body).expect("a signed answer") {
        RpcResponse::Failed(why) => assert!(why.contains("undecodable"), "{why}"),
        other => panic!("garbage was served: {other:?}"),
    }
    // Nothing was granted to the intruder: the whole budget is still there.
    let status = c.nodes[2]
        .server
        .gateway
        .quota_status(&quota)
        .await
        .expect("status");
    assert_eq!((status.spent, status.leased), (0, 0));
    assert_eq!(status.available, 1_000_000);

    // A caller that sends part of a body and stops is answered 400 once a call's whole
    // deadline has passed, and does not hold the connection for ever.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    /// The status line of the answer to a call whose body stops after one byte.
    async fn stalled(addr: std::net::SocketAddr, headers: &str) -> [u8; 12] {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        let head =
            format!("POST /rpc HTTP/1.1\r\nhost: x\r\n{headers}content-length: 100\r\n\r\n\x7f");
        s.write_all(head.as_bytes()).await.unwrap();
        let mut status = [0u8; 12];
        tokio::time::timeout(Duration::from_secs(10), s.read_exact(&mut status))
            .await
            .expect("a stalled body is answered")
            .unwrap();
        status
    }
    let signed = format!("{}: 00\r\n", rpc::SIGNATURE);
    assert_eq!(&stalled(c.rpc_addr(0), &signed).await, b"HTTP/1.1 400");
    // Without a signature at all it is refused before its body is read.
    assert_eq!(&stalled(c.rpc_addr(0), "").await, b"HTTP/1.1 401");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_call_that_arrives_after_its_deadline_changes_nothing() {
    // A call held up on the network (a partition: TCP delivers it once the path heals)
    // reaches its node after the sender gave up and asked again; served then, a
    // settlement counted twice.
    let c = ClusterHarness::start(3, &tenant("late", "0.001", "day")).await;
    let quota = Quota::new(money("late", Window::Day).id, 1_000_000);
    let owner = index_of(&c, &owner_and_backup(&c, &quota.id).0);
    let grant = RpcRequest::Grant {
        quota: quota.clone(),
        node: "late-node".into(),
        request: GrantRequest {
            id: 7,
            period: Window::Day.period(now_ms()),
            want: 400_000,
            min: 1,
        },
    };
    let status = async || {
        c.nodes[owner]
            .server
            .gateway
            .quota_status(&quota)
            .await
            .expect("status")
    };
    let late = rpc::Call {
        expires_ms: now_ms() - 1_000,
        request: &grant,
    };
    let answer = c
        .rpc_raw(owner, rpc::encode(&late), Some(SECRET.as_bytes()))
        .await;
    assert_eq!(answer.status, 200);
    match answer_of(&answer.body).expect("a signed answer") {
        RpcResponse::Failed(why) => assert!(why.contains("expired"), "{why}"),
        other => panic!("a call past its deadline was served: {other:?}"),
    }
    assert_eq!(status().await.leased, 0, "nothing granted");
    let scrape = c.admin(owner, "GET", "/metrics", None).await.text();
    assert_eq!(
        counter(
            &scrape,
            r#"switchboard_cluster_rpc_expired_total{kind="grant"}"#
        ),
        1.0,
        "{scrape}"
    );

    // The same call within its deadline is served.
    match signed(&c, owner, &grant).await {
        RpcResponse::Grant(g) => assert_eq!(g.amount, 400_000),
        other => panic!("a call within its deadline was refused: {other:?}"),
    }
    assert_eq!(status().await.leased, 400_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_whose_clocks_disagree_by_seconds_still_share_a_budget_exactly() {
    // Deadlines are written in the receiver's time, learnt from its answers. Each node's
    // clock is 30 s ahead of the one before, so whichever two own and back the quota,
    // some node calls a peer whose clock is ahead of its own: written in the sender's
    // time, every such call would arrive "late" and be refused.
    let clocks = [0, 30_000, 60_000];
    let c = Arc::new(
        ClusterHarness::start_with_clocks(3, &tenant("skewed", "0.00005", "total"), |i| {
            Arc::new(SkewedClock(clocks[i]))
        })
        .await,
    );
    let ok = admitted(&c, "sk-skewed-0001", 30).await;
    assert_eq!(ok, 5, "exactly the calls the budget covers succeed");
    let audited: i64 = audited(&c, &[0, 1, 2], "skewed", 30).await.iter().sum();
    assert_eq!(audited, 50_000);
    every_node_reads_the_book(&c, "skewed", audited).await;
    let mut expired = 0.0;
    for i in 0..3 {
        let scrape = c.admin(i, "GET", "/metrics", None).await.text();
        for kind in ["grant", "settle", "replicate", "replicate_delta", "claim"] {
            expired += counter(
                &scrape,
                &format!(r#"switchboard_cluster_rpc_expired_total{{kind="{kind}"}}"#),
            );
        }
    }
    assert!(
        expired >= 1.0,
        "a first call to a peer ahead, before its offset was known, arrives late"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_settlement_repeated_by_its_place_counts_once_even_at_the_next_owner() {
    let mut c = ClusterHarness::start(3, &tenant("placed", "0.001", "total")).await;
    let quota = money("placed", Window::Total);
    call_every_node(&c, "sk-placed-0001", 1).await;
    settle_everywhere(&c).await;
    let (owner, backup) = owner_and_backup(&c, &quota.id);
    // Place 1 of a node's stream 42, under a new id each time: only its place says it is
    // the same settlement (the ids a state carries on a take-over are only the latest).
    let place_one = |id: &str| RpcRequest::Settle {
        quota: quota.id.clone(),
        node: "node-x".into(),
        batch: vec![Settlement {
            request_id: id.into(),
            period: Window::Total.period(now_ms()),
            reserved: 10_000,
            charged: 10_000,
            stream: 42,
            seq: 1,
        }],
    };
    let settle = async |c: &ClusterHarness, node: usize, req: RpcRequest| match signed(
        c, node, &req,
    )
    .await
    {
        RpcResponse::Settled(s) => s,
        other => panic!("not settled: {other:?}"),
    };
    let spent = async |c: &ClusterHarness| {
        c.nodes[0]
            .server
            .gateway
            .quota_status(&quota)
            .await
            .expect("status")
            .spent
    };
    let before = spent(&c).await;
    let at = index_of(&c, &owner);
    assert_eq!(settle(&c, at, place_one("x-1")).await, [Settled::Applied]);
    assert_eq!(
        settle(&c, at, place_one("x-1b")).await,
        [Settled::Duplicate]
    );
    assert_eq!(spent(&c).await, before + 10_000);

    // The owner leaves; its backup takes the quota over with the places.
    let gone = c.nodes.remove(at);
    gone.server.shutdown().await;
    c.wait_for(Duration::from_secs(10), |c| {
        c.nodes.iter().all(|n| n.members() == 2)
    })
    .await;
    let at = index_of(&c, &backup);
    assert_eq!(
        settle(&c, at, place_one("x-1c")).await,
        [Settled::Duplicate]
    );
    assert_eq!(spent(&c).await, before + 10_000, "counted once");
    let mut next = place_one("x-2");
    if let RpcRequest::Settle { batch, .. } = &mut next {
        batch[0].seq = 2;
    }
    assert_eq!(settle(&c, at, next).await, [Settled::Applied]);
    assert_eq!(spent(&c).await, before + 20_000);
}

/// A node restarted on its data directory under another name (a host replaced, a node
/// renamed) does not charge the calls its log recorded under the old name a second
/// time: they were settled under that name. The budget still admits exactly what it
/// covers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_data_directory_restarted_under_a_new_node_name_is_not_charged_twice() {
    // 100,000 nanos, 10,000 a call: ten calls in the whole cluster.
    let mut c = ClusterHarness::start(3, &tenant("renamed", "0.0001", "total")).await;
    for _ in 0..4 {
        let r = c
            .post(2, "/v1/chat/completions", "sk-renamed-0001", ask())
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
    }
    settle_everywhere(&c).await;
    c.restart_as(2, "node-3b").await;
    c.wait_for(Duration::from_secs(10), |c| {
        c.nodes
            .iter()
            .all(|n| n.server.gateway.owners.is_reconciled())
    })
    .await;
    let ok = admitted(&c, "sk-renamed-0001", 12).await;
    assert_eq!(ok, 6, "the six calls left of ten, not two");
}
