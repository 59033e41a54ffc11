//go:build !nodev

package devstack

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	uiserver "github.com/temporalio/ui-server/v2/server"
	uiconfig "github.com/temporalio/ui-server/v2/server/config"
	uioptions "github.com/temporalio/ui-server/v2/server/server_options"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/namespace/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/server/common/authorization"
	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	serverlog "go.temporal.io/server/common/log"
	"go.temporal.io/server/common/membership/static"
	"go.temporal.io/server/common/metrics"
	"go.temporal.io/server/common/persistence"
	"go.temporal.io/server/common/persistence/serialization"
	persistencesql "go.temporal.io/server/common/persistence/sql"
	"go.temporal.io/server/common/persistence/sql/sqlplugin"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	"go.temporal.io/server/common/primitives"
	"go.temporal.io/server/common/resolver"
	sqliteschema "go.temporal.io/server/schema/sqlite"
	"go.temporal.io/server/temporal"
	"google.golang.org/protobuf/types/known/durationpb"
)

const (
	clusterName = "active"
	dbFileName  = "temporal.db"
	// startTimeout bounds Start when the caller's context has no deadline.
	startTimeout = time.Minute
)

// Stack is a running embedded Temporal server and, optionally, its Web UI.
type Stack struct {
	server   temporal.Server
	ui       *uiserver.Server
	frontend string
	uiURL    string
	logger   *slog.Logger
	quiet    *atomic.Bool // set while stopping: silences the server's logs
	stopOnce sync.Once
}

// Start runs the server, creates the namespace and search attributes, starts
// the UI, and returns once the frontend answers.
func Start(ctx context.Context, o Options) (*Stack, error) {
	o = o.withDefaults()
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, startTimeout)
		defer cancel()
	}
	t0 := time.Now()
	if o.Tuning.GCPercent > 0 {
		debug.SetGCPercent(o.Tuning.GCPercent)
	}

	ports := pickedPorts{}
	frontendHost, frontendPort, err := ports.resolveAddr(o.FrontendAddr)
	if err != nil {
		return nil, fmt.Errorf("devstack: frontend address: %w", err)
	}
	var uiHost string
	var uiPort int
	if o.UIAddr != "" {
		if uiHost, uiPort, err = ports.resolveAddr(o.UIAddr); err != nil {
			return nil, fmt.Errorf("devstack: UI address: %w", err)
		}
	}

	sqlConf, err := prepareDatabase(o)
	if err != nil {
		return nil, err
	}
	conf, err := serverConfig(ports, frontendHost, frontendPort, sqlConf, o.Tuning)
	if err != nil {
		return nil, err
	}
	lg := newServerLogger(o.Logger)
	srv, err := newServer(conf, lg, o.Tuning)
	if err != nil {
		return nil, err
	}
	if err := srv.Start(); err != nil {
		return nil, fmt.Errorf("devstack: start temporal server: %w", err)
	}
	s := &Stack{
		server:   srv,
		quiet:    lg.quiet,
		frontend: net.JoinHostPort(dialHost(frontendHost), strconv.Itoa(frontendPort)),
		logger:   o.Logger,
	}
	if err := s.setUpNamespace(ctx, o); err != nil {
		s.Stop()
		return nil, err
	}
	if o.UIAddr != "" {
		if err := s.startUI(ctx, uiHost, uiPort, o.Namespace); err != nil {
			s.Stop()
			return nil, err
		}
	}
	o.Logger.Info("temporal dev server ready", "frontend", s.frontend, "ui", s.uiURL,
		"namespace", o.Namespace, "took", time.Since(t0).Round(time.Millisecond))
	return s, nil
}

// FrontendAddress is the host:port SDK clients dial.
func (s *Stack) FrontendAddress() string { return s.frontend }

// UIURL is the Web UI's base URL, "" when it is not running.
func (s *Stack) UIURL() string { return s.uiURL }

// Stop shuts the UI and the server down; safe to call more than once.
func (s *Stack) Stop() {
	s.stopOnce.Do(func() {
		// Shutting down, the server's internal workers warn about every poll
		// the closing frontend cuts off; none of it is news.
		s.quiet.Store(true)
		if s.ui != nil {
			s.ui.Stop()
		}
		if err := s.server.Stop(); err != nil {
			s.logger.Warn("temporal dev server stop", "error", err)
		}
	})
}

// prepareDatabase builds the SQLite config, creates the schema in a new file
// and pre-registers the namespace (a no-op when it exists), so that the
// server finds it at start instead of after a registry refresh.
func prepareDatabase(o Options) (*config.SQL, error) {
	conf := &config.SQL{
		PluginName: sqliteplugin.PluginName,
		// SQLite has one writer: a second connection gets "database is locked".
		MaxConns:     1,
		MaxIdleConns: 1,
	}
	if o.DataDir == "" {
		// A distinct name per stack: the plugin shares connections by DSN.
		conf.DatabaseName = "devstack-" + randomHex(8)
		conf.ConnectAttributes = map[string]string{"mode": "memory", "cache": "shared"}
	} else {
		dir, err := filepath.Abs(o.DataDir)
		if err != nil {
			return nil, fmt.Errorf("devstack: data dir: %w", err)
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("devstack: create data dir: %w", err)
		}
		conf.DatabaseName = filepath.Join(dir, dbFileName)
		// Keys without a leading "_": the plugin turns unknown keys into
		// _pragma=key=value itself.
		sync := o.Tuning.Synchronous
		if sync == "" {
			sync = "normal"
		}
		conf.ConnectAttributes = map[string]string{
			"mode":         "rwc",
			"journal_mode": "wal",
			"synchronous":  sync,
		}
		if _, err := os.Stat(conf.DatabaseName); errors.Is(err, os.ErrNotExist) {
			if err := sqliteschema.SetupSchema(conf); err != nil {
				return nil, fmt.Errorf("devstack: create schema in %s: %w", conf.DatabaseName, err)
			}
		} else if err != nil {
			return nil, fmt.Errorf("devstack: inspect %s: %w", conf.DatabaseName, err)
		}
	}

	ns, err := sqliteschema.NewNamespaceConfig(clusterName, o.Namespace, false, o.SearchAttributes)
	if err != nil {
		return nil, fmt.Errorf("devstack: namespace %q config: %w", o.Namespace, err)
	}
	ns.Detail.Config.Retention = durationpb.New(o.Retention)
	if err := sqliteschema.CreateNamespaces(conf, ns); err != nil {
		return nil, fmt.Errorf("devstack: create namespace %q: %w", o.Namespace, err)
	}
	if !o.Tuning.AllVisibilityIndexes {
		if err := dropUnusedVisibilityIndexes(conf, o.Namespace, o.SearchAttributes); err != nil {
			return nil, err
		}
	}
	return conf, nil
}

// keptVisibilityIndexes are the indexes of executions_visibility that the
// Web UI's lists (newest first; by workflow id, type, status, task queue)
// use. The schema's other indexes are on pre-allocated search-attribute
// columns; of those, the Keyword columns that a namespace's custom search
// attributes map to keep theirs (keywordIndexes).
var keptVisibilityIndexes = map[string]bool{
	"default_idx": true, "by_execution_time": true, "by_workflow_id": true, "by_workflow_type": true,
	"by_status": true, "by_task_queue": true,
}

// keywordColumns is how many KeywordNN columns the SQLite visibility schema
// pre-allocates for custom search attributes; by_keyword_NN indexes each.
const keywordColumns = 10

// visibilityIndexNames are the indexes on executions_visibility in the
// server's SQLite schema (schema/sqlite/v3/visibility/schema.sql, v1.32).
var visibilityIndexNames = []string{
	"default_idx", "by_execution_time", "by_workflow_id", "by_workflow_type", "by_status", "by_history_length",
	"by_history_size_bytes", "by_execution_duration", "by_state_transition_count", "by_task_queue",
	"by_parent_workflow_id", "by_parent_run_id", "by_root_workflow_id", "by_root_run_id", "by_batcher_user",
	"by_temporal_scheduled_start_time", "by_temporal_scheduled_by_id", "by_temporal_schedule_paused",
	"by_temporal_namespace_division", "by_temporal_pause_info", "by_temporal_worker_deployment_version",
	"by_temporal_workflow_versioning_behavior", "by_temporal_worker_deployment", "by_bool_01", "by_bool_02", "by_bool_03",
	"by_datetime_01", "by_datetime_02", "by_datetime_03", "by_double_01", "by_double_02", "by_double_03", "by_int_01",
	"by_int_02", "by_int_03", "by_temporal_bool_01",
	"by_temporal_bool_02", "by_temporal_datetime_01", "by_temporal_datetime_02", "by_temporal_double_01",
	"by_temporal_double_02", "by_temporal_int_01", "by_temporal_int_02", "by_temporal_keyword_01",
	"by_temporal_keyword_02", "by_temporal_keyword_03", "by_temporal_keyword_04",
	"by_temporal_low_cardinality_keyword_01",
}

// dropUnusedVisibilityIndexes drops the visibility indexes not in
// keptVisibilityIndexes, and the by_keyword_NN indexes of Keyword columns
// no custom search attribute maps to. Every visibility write (a workflow's
// start, each search-attribute upsert, its close) rewrites every index and
// is prepared afresh each time: with 59 indexes it was a fifth of the
// server's CPU in `orderintake bench`, and each index of an unused column
// still costs ≈ 2 % of a write. Idempotent, so an existing data dir is
// slimmed on its next start; a Keyword column that gets an attribute later
// (the attribute is registered after this runs) gets its index back on the
// next start, and until then queries on it answer by scanning.
func dropUnusedVisibilityIndexes(conf *config.SQL, ns string, want map[string]enums.IndexedValueType) error {
	used, pending, err := keywordColumnsInUse(conf, ns, want)
	if err != nil {
		return err
	}
	db, err := persistencesql.NewSQLAdminDB(sqlplugin.DbKindUnknown, conf, resolver.NewNoopResolver(), serverlog.NewNoopLogger(),
		metrics.NoopMetricsHandler)
	if err != nil {
		return fmt.Errorf("devstack: open %s to trim visibility indexes: %w", conf.DatabaseName, err)
	}
	defer func() { _ = db.Close() }()
	for _, name := range visibilityIndexNames {
		if keptVisibilityIndexes[name] {
			continue
		}
		if err := db.Exec("DROP INDEX IF EXISTS " + name); err != nil {
			return fmt.Errorf("devstack: drop visibility index %s: %w", name, err)
		}
	}
	for i := 1; i <= keywordColumns; i++ {
		col, name := fmt.Sprintf("Keyword%02d", i), fmt.Sprintf("by_keyword_%02d", i)
		var stmt string
		switch {
		case used[col]:
			// As the stock schema defines it.
			stmt = "CREATE INDEX IF NOT EXISTS " + name + " ON executions_visibility (namespace_id, " + col +
				", (COALESCE(close_time, '9999-12-31 23:59:59+00:00')) DESC, start_time DESC, run_id)"
		case pending:
			continue // an attribute still to be registered may take this column
		default:
			stmt = "DROP INDEX IF EXISTS " + name
		}
		if err := db.Exec(stmt); err != nil {
			return fmt.Errorf("devstack: visibility index %s: %w", name, err)
		}
	}
	return nil
}

// keywordColumnsInUse reads which KeywordNN columns the custom search
// attributes of every namespace map to (the server picks the column of a
// new attribute at random), and whether a Keyword attribute of want is not
// yet registered on ns (setUpNamespace registers it once the server runs).
func keywordColumnsInUse(conf *config.SQL, ns string, want map[string]enums.IndexedValueType) (used map[string]bool, pending bool, err error) {
	db, err := persistencesql.NewSQLDB(sqlplugin.DbKindMain, conf, resolver.NewNoopResolver(), serverlog.NewNoopLogger(),
		metrics.NoopMetricsHandler)
	if err != nil {
		return nil, false, fmt.Errorf("devstack: open %s to read search attributes: %w", conf.DatabaseName, err)
	}
	defer func() { _ = db.Close() }()
	pageSize := 1000
	rows, err := db.SelectFromNamespace(context.Background(), sqlplugin.NamespaceFilter{PageSize: &pageSize})
	if err != nil {
		return nil, false, fmt.Errorf("devstack: read namespaces: %w", err)
	}
	used = map[string]bool{}
	registered := map[string]bool{}
	ser := serialization.NewSerializer()
	for _, r := range rows {
		d, err := ser.NamespaceDetailFromBlob(persistence.NewDataBlob(r.Data, r.DataEncoding))
		if err != nil {
			return nil, false, fmt.Errorf("devstack: decode namespace %s: %w", r.Name, err)
		}
		for field, alias := range d.GetConfig().GetCustomSearchAttributeAliases() {
			used[field] = true
			if r.Name == ns {
				registered[alias] = true
			}
		}
	}
	for name, typ := range want {
		if typ == enums.INDEXED_VALUE_TYPE_KEYWORD && !registered[name] {
			pending = true
		}
	}
	return used, pending, nil
}

func serverConfig(ports pickedPorts, host string, frontendPort int, sqlConf *config.SQL, tun Tuning) (*config.Config, error) {
	bcast := dialHost(host)
	frontend := net.JoinHostPort(bcast, strconv.Itoa(frontendPort))
	conf := &config.Config{}
	conf.Global.Membership.MaxJoinDuration = 30 * time.Second
	conf.Global.Membership.BroadcastAddress = bcast
	conf.Persistence.DefaultStore = "sqlite"
	conf.Persistence.VisibilityStore = "sqlite"
	conf.Persistence.NumHistoryShards = 1
	if tun.HistoryShards > 0 {
		conf.Persistence.NumHistoryShards = int32(tun.HistoryShards)
	}
	conf.Persistence.DataStores = map[string]config.DataStore{"sqlite": {SQL: sqlConf}}
	conf.ClusterMetadata = &cluster.Config{
		FailoverVersionIncrement: 10,
		MasterClusterName:        clusterName,
		CurrentClusterName:       clusterName,
		ClusterInformation:       map[string]cluster.ClusterInformation{},
	}
	conf.DCRedirectionPolicy.Policy = "noop"
	// The frontend's HTTP API too: without it the server warns at every start
	// that Nexus endpoints are off.
	httpPort, err := ports.freePort(host)
	if err != nil {
		return nil, fmt.Errorf("devstack: port for the HTTP API: %w", err)
	}
	conf.ClusterMetadata.ClusterInformation[clusterName] = cluster.ClusterInformation{
		Enabled:                true,
		InitialFailoverVersion: 1,
		RPCAddress:             frontend,
		HTTPAddress:            net.JoinHostPort(bcast, strconv.Itoa(httpPort)),
	}
	conf.Services = map[string]config.Service{}
	for _, svc := range temporal.DefaultServices {
		rpc := config.RPC{GRPCPort: frontendPort, BindOnIP: host, HTTPPort: httpPort}
		if svc != string(primitives.FrontendService) {
			p, err := ports.freePort(host)
			if err != nil {
				return nil, fmt.Errorf("devstack: port for %s: %w", svc, err)
			}
			rpc = config.RPC{GRPCPort: p, BindOnIP: host}
		}
		conf.Services[svc] = config.Service{RPC: rpc}
	}
	conf.Archival.History.State = "disabled"
	conf.Archival.Visibility.State = "disabled"
	conf.NamespaceDefaults.Archival.History.State = "disabled"
	conf.NamespaceDefaults.Archival.Visibility.State = "disabled"
	// The server's internal workers dial the frontend through this.
	conf.PublicClient.HostPort = frontend
	return conf, nil
}

func newServer(conf *config.Config, lg serverLogger, tun Tuning) (temporal.Server, error) {
	authorizer, err := authorization.GetAuthorizerFromConfig(&conf.Global.Authorization)
	if err != nil {
		return nil, fmt.Errorf("devstack: authorizer: %w", err)
	}
	claimMapper, err := authorization.GetClaimMapperFromConfig(&conf.Global.Authorization, lg)
	if err != nil {
		return nil, fmt.Errorf("devstack: claim mapper: %w", err)
	}
	hosts := map[primitives.ServiceName]static.Hosts{}
	for _, svc := range temporal.DefaultServices {
		rpc := conf.Services[svc].RPC
		hosts[primitives.ServiceName(svc)] = static.SingleLocalHost(net.JoinHostPort(dialHost(rpc.BindOnIP), strconv.Itoa(rpc.GRPCPort)))
	}
	dyn := dynamicconfig.StaticClient{
		// Smaller mutable-state cache: this is a laptop, not a cluster.
		dynamicconfig.HistoryCacheHostLevelMaxSize.Key(): 8096,
		// The default of 10/s throttles the Web UI and HQ list pages.
		dynamicconfig.FrontendMaxNamespaceVisibilityRPSPerInstance.Key(): 100,
	}
	if p := tun.TaskQueuePartitions; p > 0 {
		dyn[dynamicconfig.MatchingNumTaskqueueReadPartitions.Key()] = p
		dyn[dynamicconfig.MatchingNumTaskqueueWritePartitions.Key()] = p
	}
	srv, err := temporal.NewServer(
		temporal.WithConfig(conf),
		temporal.ForServices(temporal.DefaultServices),
		temporal.WithStaticHosts(hosts),
		temporal.WithLogger(lg),
		temporal.WithAuthorizer(authorizer),
		temporal.WithClaimMapper(func(*config.Config) authorization.ClaimMapper { return claimMapper }),
		temporal.WithDynamicConfigClient(dyn),
	)
	if err != nil {
		return nil, fmt.Errorf("devstack: build temporal server: %w", err)
	}
	return srv, nil
}

// setUpNamespace waits for the frontend, then brings an existing namespace up
// to date: retention, and search attributes added to Options since it was
// created (CreateNamespaces leaves an existing namespace alone).
func (s *Stack) setUpNamespace(ctx context.Context, o Options) error {
	c, err := s.dial(ctx, o)
	if err != nil {
		return err
	}
	defer c.Close()

	desc, err := c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: o.Namespace})
	if err != nil {
		return fmt.Errorf("devstack: describe namespace %q: %w", o.Namespace, err)
	}
	if desc.GetConfig().GetWorkflowExecutionRetentionTtl().AsDuration() != o.Retention {
		_, err := c.WorkflowService().UpdateNamespace(ctx, &workflowservice.UpdateNamespaceRequest{
			Namespace: o.Namespace,
			Config:    &namespace.NamespaceConfig{WorkflowExecutionRetentionTtl: durationpb.New(o.Retention)},
		})
		if err != nil {
			return fmt.Errorf("devstack: set retention of namespace %q: %w", o.Namespace, err)
		}
	}

	if len(o.SearchAttributes) == 0 {
		return nil
	}
	list, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: o.Namespace})
	if err != nil {
		return fmt.Errorf("devstack: list search attributes: %w", err)
	}
	missing := map[string]enums.IndexedValueType{}
	for name, typ := range o.SearchAttributes {
		have, ok := list.GetCustomAttributes()[name]
		switch {
		case !ok:
			missing[name] = typ
		case have != typ:
			return fmt.Errorf("devstack: search attribute %s is %s in %s, want %s: it cannot change type; use a new name or a fresh data dir",
				name, have, o.Namespace, typ)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	_, err = c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace:        o.Namespace,
		SearchAttributes: missing,
	})
	var exists *serviceerror.AlreadyExists
	if err != nil && !errors.As(err, &exists) {
		return fmt.Errorf("devstack: add search attributes: %w", err)
	}
	s.logger.Info("registered search attributes", "namespace", o.Namespace, "added", len(missing))
	return waitSearchAttributes(ctx, c, o.Namespace, missing)
}

// waitSearchAttributes returns once the frontend knows the new attributes:
// it reads namespaces from a cache refreshed every 2 s, and until then a
// workflow started with one of them is refused ("no mapping defined").
func waitSearchAttributes(ctx context.Context, c client.Client, ns string, added map[string]enums.IndexedValueType) error {
	var query strings.Builder
	for name := range added {
		if query.Len() > 0 {
			query.WriteString(" AND ")
		}
		query.WriteString(name + " IS NULL")
	}
	for {
		_, err := c.WorkflowService().CountWorkflowExecutions(ctx, &workflowservice.CountWorkflowExecutionsRequest{
			Namespace: ns,
			Query:     query.String(),
		})
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("devstack: new search attributes not usable yet: %w", err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// dial connects an SDK client, retrying until the frontend accepts
// connections (Dial checks the server's health).
func (s *Stack) dial(ctx context.Context, o Options) (client.Client, error) {
	opts := client.Options{
		HostPort:  s.frontend,
		Namespace: o.Namespace,
		Logger:    sdklog.NewStructuredLogger(slog.New(minLevel{o.Logger.Handler(), slog.LevelWarn})),
	}
	for {
		attemptCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		c, err := client.DialContext(attemptCtx, opts)
		cancel()
		if err == nil {
			return c, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("devstack: frontend %s not answering: %w", s.frontend, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (s *Stack) startUI(ctx context.Context, host string, port int, ns string) error {
	uiHost := host
	if ip := net.ParseIP(host); ip != nil && ip.To4() == nil {
		uiHost = "[" + host + "]" // the UI formats host:port itself
	}
	s.ui = uiserver.NewServer(uioptions.WithConfigProvider(&uiconfig.Config{
		Host:                uiHost,
		Port:                port,
		TemporalGRPCAddress: s.frontend,
		EnableUI:            true,
		DefaultNamespace:    ns,
		CORS:                uiconfig.CORS{CookieInsecure: true}, // plain http on localhost
		HideLogs:            true,
		DisableNewsFetch:    true, // no outside network here
	}))
	// Start blocks until Stop; a bind failure inside it exits the process,
	// which is why resolveAddr checked the port first.
	go func() {
		if err := s.ui.Start(); err != nil {
			s.logger.Error("temporal UI server", "error", err)
		}
	}()
	s.uiURL = "http://" + net.JoinHostPort(dialHost(host), strconv.Itoa(port))
	return waitHTTP(ctx, s.uiURL+"/healthz")
}

func waitHTTP(ctx context.Context, url string) error {
	hc := &http.Client{Timeout: 2 * time.Second}
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return fmt.Errorf("devstack: %w", err)
		}
		resp, err := hc.Do(req)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("status %s", resp.Status)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("devstack: UI at %s not answering: %w", url, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// pickedPorts remembers the ports one Start chose, so that no two services
// get the same one.
type pickedPorts map[int]bool

// resolveAddr splits addr, picks a free port for port 0 and otherwise checks
// that the port can be bound, so a taken port is an error here rather than
// a failure deep inside the server (or an os.Exit inside the UI server).
func (p pickedPorts) resolveAddr(addr string) (string, int, error) {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("parse %q: %w", addr, err)
	}
	if host == "" || host == "localhost" {
		host = "127.0.0.1"
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return "", 0, fmt.Errorf("port in %q: %w", addr, err)
	}
	if port == 0 {
		if port, err = p.freePort(host); err != nil {
			return "", 0, err
		}
		return host, port, nil
	}
	if !canBind(host, port) {
		return "", 0, fmt.Errorf("%s is not available (in use?)", addr)
	}
	p[port] = true
	return host, port, nil
}

// freePort picks a port the server binds a moment later. Not one the kernel
// hands out for port 0: those come from the ephemeral range, which outgoing
// connections (the server's own gRPC clients) draw from too, and one of them
// taking the port before the server binds it crashes the server (a nil
// listener panics in the matching service). A random port below that range
// is only at risk from another process doing the same.
func (p pickedPorts) freePort(host string) (int, error) {
	lo := ephemeralLow()
	const lowest = 10000
	if lo-lowest >= 1000 {
		for range 100 {
			port := lowest + mrand.IntN(lo-lowest)
			if !p[port] && canBind(host, port) {
				p[port] = true
				return port, nil
			}
		}
	}
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, fmt.Errorf("devstack: pick a free port on %s: %w", host, err)
	}
	defer func() { _ = l.Close() }()
	port := l.Addr().(*net.TCPAddr).Port
	p[port] = true
	return port, nil
}

func canBind(host string, port int) bool {
	l, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return false
	}
	_ = l.Close()
	return true
}

// ephemeralLow is the first port of the kernel's ephemeral range (Linux),
// else the IANA one.
func ephemeralLow() int {
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if lo, err := strconv.Atoi(f[0]); err == nil {
				return lo
			}
		}
	}
	return 49152
}

// dialHost turns a wildcard bind address into one a client can dial.
func dialHost(host string) string {
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		if ip.To4() != nil {
			return "127.0.0.1"
		}
		return "::1"
	}
	return host
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
