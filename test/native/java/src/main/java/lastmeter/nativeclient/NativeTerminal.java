package lastmeter.nativeclient;

import io.socket.client.Ack;
import io.socket.client.IO;
import io.socket.client.Socket;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import org.json.JSONException;
import org.json.JSONObject;

/**
 * A store tablet as a native Android app drives the gateway: socket.io-client-java on the
 * /terminal namespace (docs/terminal-protocol.md), used by
 * test/realtime/native-client.e2e-spec.ts.
 *
 * <p>Usage: {@code java -cp ... lastmeter.nativeclient.NativeTerminal http://127.0.0.1:PORT}.
 * Reads one JSON command a line on stdin and writes one JSON line per thing that happened
 * on stdout:
 *
 * <ul>
 *   <li>{@code {"cmd":"connect","auth":{"token":"…","cursor":"12","epoch":"…"}}}: a new
 *       socket with that auth, which must be all strings (the library's {@code IO.Options.auth}
 *       is a {@code Map<String, String>}); prints {@code connect}, {@code connect_error},
 *       {@code hello}, {@code feed} (with its {@code feedSeq}), {@code feed.snapshot}, {@code feed.items},
 *       {@code token}, {@code token-expired}, {@code revoked} and {@code disconnect}.
 *   <li>{@code {"cmd":"reconnect","auth":{…}}}: connects the same socket again (after a
 *       refusal, which the library never retries), as docs/terminal-protocol.md's Kotlin
 *       tablet does; {@code auth}, if given, replaces the values of the same auth map first.
 *   <li>{@code {"cmd":"emit","id":"r1","event":"receipt","payload":{…}}}: sends the event
 *       with an ack callback; prints {@code {"event":"ack","id":"r1","data":{…}}}.
 *   <li>{@code {"cmd":"disconnect"}}: closes the socket (prints {@code disconnect}).
 *   <li>{@code {"cmd":"quit"}} or the end of stdin: closes and exits.
 * </ul>
 */
public final class NativeTerminal {
  private static final String[] SERVER_EVENTS = {
    "hello", "feed.snapshot", "feed.items", "token", "token-expired", "revoked", "slow-consumer"
  };

  private final String url;
  private Socket socket;
  /** The map the socket was made with: the library reads it at every connect. */
  private Map<String, String> auth;

  private NativeTerminal(String url) {
    this.url = url;
  }

  public static void main(String[] args) throws Exception {
    if (args.length != 1) {
      System.err.println("usage: NativeTerminal <gateway url>");
      System.exit(2);
    }
    NativeTerminal terminal = new NativeTerminal(args[0]);
    print(line("ready"));
    BufferedReader in =
        new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    for (String text = in.readLine(); text != null; text = in.readLine()) {
      if (text.trim().isEmpty()) continue;
      try {
        JSONObject command = new JSONObject(text);
        if (!terminal.run(command)) break;
      } catch (Exception error) {
        JSONObject failure = line("error");
        put(failure, "message", String.valueOf(error));
        print(failure);
      }
    }
    terminal.close();
    // OkHttp's threads would keep the JVM alive for a minute.
    System.exit(0);
  }

  /** Runs one command; false to quit. */
  private boolean run(JSONObject command) throws JSONException {
    String cmd = command.getString("cmd");
    switch (cmd) {
      case "connect":
        connect(stringMap(command.getJSONObject("auth")));
        return true;
      case "reconnect":
        reconnect(command.has("auth") ? stringMap(command.getJSONObject("auth")) : null);
        return true;
      case "emit":
        emit(command.getString("id"), command.getString("event"), command.getJSONObject("payload"));
        return true;
      case "disconnect":
        close();
        return true;
      case "quit":
        return false;
      default:
        throw new IllegalArgumentException("unknown command " + cmd);
    }
  }

  /** The auth map as the library takes it: strings only, as on Android. */
  private static Map<String, String> stringMap(JSONObject json) throws JSONException {
    Map<String, String> map = new HashMap<>();
    Iterator<?> keys = json.keys();
    while (keys.hasNext()) {
      String key = (String) keys.next();
      Object value = json.get(key);
      if (!(value instanceof String)) {
        throw new IllegalArgumentException("auth." + key + " is not a string");
      }
      map.put(key, (String) value);
    }
    return map;
  }

  private void connect(Map<String, String> auth) {
    close();
    IO.Options options =
        IO.Options.builder().setForceNew(true).setReconnection(false).setAuth(auth).build();
    Socket created = IO.socket(URI.create(url + "/terminal"), options);
    created.on(Socket.EVENT_CONNECT, args -> print(line("connect")));
    created.on(
        Socket.EVENT_CONNECT_ERROR,
        args -> {
          JSONObject out = line("connect_error");
          // A refusal by the server is { message, data: { reason } }; a transport error an exception.
          Object cause = args.length > 0 ? args[0] : null;
          put(out, "data", cause instanceof JSONObject ? cause : String.valueOf(cause));
          print(out);
        });
    created.on(
        Socket.EVENT_DISCONNECT,
        args -> {
          JSONObject out = line("disconnect");
          put(out, "reason", args.length > 0 ? String.valueOf(args[0]) : null);
          print(out);
        });
    created.on(
        "feed",
        args -> {
          JSONObject out = line("feed");
          JSONObject item = (JSONObject) args[0];
          put(out, "feedSeq", item.opt("feedSeq"));
          put(out, "data", item);
          print(out);
        });
    for (String event : SERVER_EVENTS) {
      created.on(
          event,
          args -> {
            JSONObject out = line(event);
            put(out, "data", args.length > 0 ? args[0] : null);
            print(out);
          });
    }
    socket = created;
    this.auth = auth;
    created.connect();
  }

  private void reconnect(Map<String, String> replacement) {
    if (socket == null) throw new IllegalStateException("no socket");
    if (replacement != null) {
      auth.clear();
      auth.putAll(replacement);
    }
    socket.connect();
  }

  private void emit(String id, String event, JSONObject payload) {
    if (socket == null) throw new IllegalStateException("not connected");
    socket.emit(
        event,
        new Object[] {payload},
        (Ack)
            args -> {
              JSONObject out = line("ack");
              put(out, "id", id);
              put(out, "data", args.length > 0 ? args[0] : null);
              print(out);
            });
  }

  private void close() {
    if (socket == null) return;
    socket.close();
    socket = null;
  }

  private static JSONObject line(String event) {
    JSONObject out = new JSONObject();
    put(out, "event", event);
    return out;
  }

  private static void put(JSONObject json, String key, Object value) {
    try {
      json.put(key, value == null ? JSONObject.NULL : value);
    } catch (JSONException error) {
      throw new IllegalStateException(error);
    }
  }

  /** One JSON line; println is synchronized, so lines from the event thread never interleave. */
  private static void print(JSONObject json) {
    System.out.println(json.toString());
    System.out.flush();
  }
}
