package dev.acxdata.stack;

import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.connectors.HttpConnector;
import org.neo4j.configuration.connectors.HttpsConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;
import org.neo4j.io.ByteUnit;

/**
 * The local Neo4j 5 Community server of the acx-data stack: the DBMS of the neo4j distribution, started
 * through its embedded API with the Bolt connector on 127.0.0.1 and authentication on.
 *
 * <p>Usage: {@code java -cp 'target/classes:target/lib/*' dev.acxdata.stack.Neo4jLauncher [home] [port]}.
 * Home defaults to {@code $ACX_NEO4J_HOME}, port to {@code $ACX_NEO4J_PORT} or 7687, the password of the
 * {@code neo4j} user to {@code $ACX_NEO4J_PASSWORD} or {@code acxdata-local}. Procedures (APOC core) are
 * loaded from {@code $ACX_NEO4J_PLUGINS}, by default {@code target/plugins} next to the launcher's classes.
 * Neo4j's own logs go to {@code <home>/logs}; stdout gets one line once Bolt is up.
 */
public final class Neo4jLauncher {
    private Neo4jLauncher() {}

    public static void main(String[] args) throws Exception {
        Path home = Path.of(arg(args, 0, "ACX_NEO4J_HOME", null)).toAbsolutePath();
        int port = Integer.parseInt(arg(args, 1, "ACX_NEO4J_PORT", "7687"));
        String password = env("ACX_NEO4J_PASSWORD", "acxdata-local");
        Path plugins = pluginDir();
        Files.createDirectories(home);

        DatabaseManagementService managementService = new DatabaseManagementServiceBuilder(home)
                .setConfig(BoltConnector.enabled, true)
                .setConfig(BoltConnector.listen_address, new SocketAddress("127.0.0.1", port))
                .setConfig(BoltConnector.encryption_level, BoltConnector.EncryptionLevel.DISABLED)
                .setConfig(HttpConnector.enabled, false)
                .setConfig(HttpsConnector.enabled, false)
                .setConfig(GraphDatabaseSettings.auth_enabled, true)
                .setConfig(GraphDatabaseSettings.pagecache_memory, ByteUnit.mebiBytes(512))
                // A development store: keep little transaction log around.
                .setConfig(GraphDatabaseSettings.keep_logical_logs, "1 files")
                .setConfig(GraphDatabaseSettings.logical_log_rotation_threshold, ByteUnit.mebiBytes(64))
                .setConfig(GraphDatabaseSettings.preallocate_logical_logs, false)
                .setConfig(GraphDatabaseSettings.plugin_dir, plugins)
                .setConfig(GraphDatabaseSettings.procedure_unrestricted, List.of("apoc.*"))
                .setConfig(GraphDatabaseSettings.procedure_allowlist, List.of("*"))
                .setConfig(GraphDatabaseSettings.udc_enabled, false)
                .build();

        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                managementService.shutdown();
            } finally {
                stopped.countDown();
            }
        }, "acx-neo4j-shutdown"));

        setPassword(managementService, password);
        System.out.println("acx-neo4j ready bolt://127.0.0.1:" + port);
        System.out.flush();
        stopped.await();
    }

    /** Sets the neo4j user's password (embedded transactions run with full rights, so no login is needed). */
    private static void setPassword(DatabaseManagementService managementService, String password) {
        String literal = "'" + password.replace("\\", "\\\\").replace("'", "\\'") + "'";
        try {
            managementService
                    .database("system")
                    .executeTransactionally("ALTER USER neo4j SET PASSWORD " + literal + " CHANGE NOT REQUIRED");
        } catch (RuntimeException e) {
            // Setting the password it already has is refused: that is the normal case after the first start.
            if (!String.valueOf(e.getMessage()).contains("Old password and new password cannot be the same")) {
                throw e;
            }
        }
    }

    private static Path pluginDir() throws URISyntaxException {
        String fromEnv = System.getenv("ACX_NEO4J_PLUGINS");
        if (fromEnv != null && !fromEnv.isEmpty()) return Path.of(fromEnv).toAbsolutePath();
        Path classes = Path.of(Neo4jLauncher.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        return classes.resolveSibling("plugins");
    }

    private static String arg(String[] args, int index, String envName, String fallback) {
        if (args.length > index && !args[index].isEmpty()) return args[index];
        String value = env(envName, fallback);
        if (value == null) {
            System.err.println("usage: Neo4jLauncher <home> [port]   (or set " + envName + ")");
            System.exit(2);
        }
        return value;
    }

    private static String env(String name, String fallback) {
        String value = System.getenv(name);
        return value == null || value.isEmpty() ? fallback : value;
    }
}
