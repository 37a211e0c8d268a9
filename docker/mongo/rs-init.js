// Initiate the three-member replica set rs0 once; run again, it changes nothing.
// Run by the mongo-init service: mongosh --host mongo1 --file /init/rs-init.js
const members = [
  { _id: 0, host: "mongo1:27017", priority: 2 },
  { _id: 1, host: "mongo2:27017", priority: 1 },
  { _id: 2, host: "mongo3:27017", priority: 1 },
];

function initiated() {
  try {
    return rs.status().ok === 1;
  } catch (e) {
    if (e.codeName === "NotYetInitialized") return false;
    throw e;
  }
}

if (initiated()) {
  print("replica set rs0 already initiated");
} else {
  const result = rs.initiate({ _id: "rs0", members: members });
  print("replica set rs0 initiated: " + JSON.stringify(result));
}

// Wait until a primary is elected, so the servers start on a writable replica set.
for (let i = 0; i < 60; i++) {
  if (db.hello().isWritablePrimary || db.hello().primary) {
    print("primary: " + db.hello().primary);
    quit(0);
  }
  sleep(1000);
}
print("no primary elected within 60 s");
quit(1);
