// Startup bench floor: workerd's own cold start, with no Worker code to evaluate and no DO.
export default {
  fetch(): Response {
    return new Response("ok");
  },
} satisfies ExportedHandler;
