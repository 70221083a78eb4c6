// Runs the compiled consumer program under Pulumi mocks and prints what it registered.
const pulumi = require("@pulumi/pulumi");

const registered = [];
pulumi.runtime
  .setMocks({
    newResource: (args) => {
      registered.push(args.type);
      const keys = args.type === "tls:index/privateKey:PrivateKey"
        ? { publicKeyOpenssh: "ssh-ed25519 AAAAconsumer\n", privateKeyOpenssh: "private" }
        : {};
      return { id: `${args.name}-id`, state: { ...args.inputs, ...keys } };
    },
    call: (args) => { throw new Error(`unexpected call ${args.token}`); },
  }, "consumer", "prod", false)
  .then(() => require("./program.js").main(process.argv[2]))
  .then(async (result) => {
    await pulumi.runtime.waitForRPCs();
    console.log(JSON.stringify({ result, registered }));
  })
  .catch((err) => { console.error(err); process.exit(1); });
