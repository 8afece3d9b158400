import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;

/**
 * Runs a real Neo4j community DBMS embedded in this JVM with a Bolt connector on loopback.
 *
 * Why: the machines this project runs on have no Docker engine, but Maven Central has Neo4j's jars.
 * Configuration comes from the environment so the password never shows on a command line:
 *   NEO4J_HOME_DIR  where data and logs go (required)
 *   NEO4J_BOLT_HOST / NEO4J_BOLT_PORT   listen address (127.0.0.1:7687)
 *   NEO4J_PASSWORD  password set for user "neo4j" (auth is on; at least 8 characters)
 *   NEO4J_PAGECACHE page cache size (64m)
 *   NEO4J_AUTH_MAX_FAILED_ATTEMPTS  failed logins before a user is locked for a few seconds (0: never,
 *                   the default on this loopback-only stack, whose tests try wrong passwords on purpose)
 */
public class Launcher {
    public static void main(String[] args) throws Exception {
        Map<String, String> env = System.getenv();
        Path home = Path.of(required(env, "NEO4J_HOME_DIR"));
        String host = env.getOrDefault("NEO4J_BOLT_HOST", "127.0.0.1");
        int port = Integer.parseInt(env.getOrDefault("NEO4J_BOLT_PORT", "7687"));
        String password = required(env, "NEO4J_PASSWORD");

        DatabaseManagementService dbms = new DatabaseManagementServiceBuilder(home)
                .setConfig(BoltConnector.enabled, true)
                .setConfig(BoltConnector.listen_address, new SocketAddress(host, port))
                .setConfig(BoltConnector.advertised_address, new SocketAddress(host, port))
                .setConfig(GraphDatabaseSettings.auth_enabled, true)
                .setConfig(GraphDatabaseSettings.auth_max_failed_attempts,
                        Integer.parseInt(env.getOrDefault("NEO4J_AUTH_MAX_FAILED_ATTEMPTS", "0")))
                .setConfig(GraphDatabaseSettings.pagecache_memory, parseBytes(env.getOrDefault("NEO4J_PAGECACHE", "64m")))
                .setConfig(GraphDatabaseSettings.shutdown_transaction_end_timeout, Duration.ofSeconds(5))
                .build();

        // Embedded code runs with full rights, so it can set the password without the default one.
        dbms.database("system").executeTransactionally(
                "ALTER USER neo4j SET PASSWORD $password CHANGE NOT REQUIRED", Map.of("password", password));

        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            System.out.println("neo4j-launcher: shutting down");
            dbms.shutdown();
            stopped.countDown();
        }));
        System.out.println("neo4j-launcher: ready on bolt://" + host + ":" + port);
        System.out.flush();
        stopped.await();
    }

    private static String required(Map<String, String> env, String name) {
        String value = env.get(name);
        if (value == null || value.isBlank()) {
            System.err.println("neo4j-launcher: environment variable " + name + " is required");
            System.exit(2);
        }
        return value;
    }

    private static long parseBytes(String text) {
        String t = text.trim().toLowerCase();
        long unit = t.endsWith("g") ? 1L << 30 : t.endsWith("m") ? 1L << 20 : t.endsWith("k") ? 1L << 10 : 1L;
        String digits = Character.isDigit(t.charAt(t.length() - 1)) ? t : t.substring(0, t.length() - 1);
        return Long.parseLong(digits) * unit;
    }
}
